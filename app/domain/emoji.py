"""Reaction emoji: short names (`thumbsup`) and Unicode emoji (👍) name the same
reaction, so a reaction is stored as its Unicode form and one agent cannot hold 👍 twice
under two spellings. Anything that is neither is refused rather than stored as free text."""

from __future__ import annotations

SHORT_NAMES: dict[str, str] = {
    "thumbsup": "👍",
    "+1": "👍",
    "like": "👍",
    "thumbsdown": "👎",
    "-1": "👎",
    "heart": "❤️",
    "tada": "🎉",
    "eyes": "👀",
    "white_check_mark": "✅",
    "check": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "smile": "😄",
    "smiley": "😃",
    "grinning": "😀",
    "laughing": "😆",
    "joy": "😂",
    "slightly_smiling_face": "🙂",
    "wink": "😉",
    "heart_eyes": "😍",
    "thinking": "🤔",
    "thinking_face": "🤔",
    "cry": "😢",
    "sob": "😭",
    "open_mouth": "😮",
    "astonished": "😲",
    "confused": "😕",
    "rage": "😡",
    "angry": "😠",
    "sweat_smile": "😅",
    "sunglasses": "😎",
    "pray": "🙏",
    "clap": "👏",
    "wave": "👋",
    "ok_hand": "👌",
    "raised_hands": "🙌",
    "muscle": "💪",
    "point_up": "☝️",
    "fire": "🔥",
    "rocket": "🚀",
    "100": "💯",
    "star": "⭐",
    "sparkles": "✨",
    "zap": "⚡",
    "bulb": "💡",
    "warning": "⚠️",
    "question": "❓",
    "exclamation": "❗",
    "hourglass": "⌛",
    "coffee": "☕",
    "bug": "🐛",
    "party_popper": "🎉",
    "partying_face": "🥳",
    "hugs": "🤗",
    "facepalm": "🤦",
    "shrug": "🤷",
    "see_no_evil": "🙈",
    "skull": "💀",
    "poop": "💩",
    "heavy_plus_sign": "➕",
    "memo": "📝",
    "pushpin": "📌",
    "calendar": "📅",
    "phone": "📞",
    "email": "📧",
    "lock": "🔒",
    "moneybag": "💰",
}
"""Slack/GitHub short names for the reactions agents use most (the most common first)."""

PICKER = ["👍", "👎", "❤️", "🎉", "👀", "✅", "😂", "🙏", "🔥", "🚀"]
"""What the desk's reaction picker offers."""

_JOINERS = {
    "\u200d",  # zero-width joiner (👩‍💻)
    "\ufe0f",  # emoji presentation selector (❤️)
    "\u20e3",  # combining keycap (1️⃣)
}
_MAX_CODEPOINTS = 16


_RANGES = (
    (0x1F000, 0x1FAFF),  # pictographs, emoticons, transport, flags' regional indicators, skin tones
    (0x2600, 0x27BF),  # miscellaneous symbols and dingbats (☕ ✅ ❤)
    (0x2300, 0x23FF),  # technical symbols used as emoji (⌛ ⏰)
    (0x2B00, 0x2BFF),  # ⭐ ⬆ ⬛
    (0x2190, 0x21FF),  # arrows (↩ ↔)
    (0x2934, 0x2935),
    (0x25AA, 0x25AB),
    (0x25B6, 0x25B6),
    (0x25C0, 0x25C0),
    (0x25FB, 0x25FE),
)
_SINGLES = {0xA9, 0xAE, 0x203C, 0x2049, 0x2122, 0x2139, 0x24C2, 0x3030, 0x303D, 0x3297, 0x3299}
"""Where Unicode puts emoji: other symbols (°, ─, ■) are not reactions."""


def _is_emoji_char(char: str) -> bool:
    code = ord(char)
    if char in _JOINERS or 0xE0020 <= code <= 0xE007F:  # tag characters (flags of regions)
        return True
    return code in _SINGLES or any(low <= code <= high for low, high in _RANGES)


def normalize(value: str) -> str | None:
    """The Unicode emoji `value` names, or None when it names none."""
    text = value.strip()
    name = text.strip(":").lower()
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    if not text or len(text) > _MAX_CODEPOINTS:
        return None
    first = text[0]
    if first in "#*0123456789":  # keycaps: 1️⃣ is "1", U+FE0F, U+20E3
        if text[1:] in ("\ufe0f\u20e3", "\u20e3"):
            return first + "\ufe0f\u20e3"
        return None
    if not all(_is_emoji_char(c) for c in text) or all(c in _JOINERS for c in text):
        return None
    if len(text) == 1 and text + "\ufe0f" in _PRESENTED:
        return text + "\ufe0f"  # ❤ and ❤️ are one reaction
    if len(text) == 2 and text[1] == "\ufe0f" and text[0] in _BARE:
        return text[0]  # and so are 👍 and 👍 with a (redundant) presentation selector
    return text


_PRESENTED = {e for e in SHORT_NAMES.values() if e.endswith("\ufe0f")}
_BARE = {e for e in SHORT_NAMES.values() if len(e) == 1}
