"""Kiosk page (DIGITS_KIOSK=1 or ?kiosk=1): see digits/kiosk.py."""

from digits.kiosk import kiosk_page

kiosk_page()
