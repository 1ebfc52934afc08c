"""Train the digit model: `python train.py [--epochs N] [--seed S] [--out DIR]`."""

from digits.cli import train_main

if __name__ == "__main__":
    raise SystemExit(train_main())
