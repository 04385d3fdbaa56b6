"""The words of the public screens (hall display, window screens, tracking page), zh-CN first, English second.

The pages are rendered mostly in the browser, so each page receives the table of its language in its config JSON;
the same table fills the few labels rendered on the server.
"""

from __future__ import annotations

LANGS = ("zh", "en")

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN",
        "now_calling": "正在叫号",
        "recent_calls": "最近叫号",
        "waiting": "等候人数",
        "people": "人",
        "window_n": "{n}号窗口",
        "window_short": "{n}号",
        "please_go": "请 {number} 号 到 {window} 号窗口 办理",
        "no_calls": "请留意屏幕叫号与语音提示",
        "welcome": "欢迎光临",
        "reconnecting": "正在重新连接…",
        "enable_voice": "点击启用语音",
        "serving": "正在办理",
        "idle": "等待叫号",
        "paused": "暂停服务",
        "services": "办理业务",
        "waiting_here": "本窗口等候 {n} 人",
        "recall": "重呼",
        "weekdays": "星期日,星期一,星期二,星期三,星期四,星期五,星期六",
        "date_format": "{y}年{m}月{d}日",
        # tracking page
        "track_title": "排队进度",
        "your_number": "您的号码",
        "status": "状态",
        "status_waiting": "等候中",
        "status_called": "请前往窗口",
        "status_done": "已办结",
        "status_no_show": "已过号",
        "status_cancelled": "已取消",
        "status_expired": "已过期",
        "ahead": "前面还有",
        "est_wait": "预计等候",
        "minutes": "分钟",
        "about_minutes": "约 {n} 分钟",
        "windows_serving": "办理窗口",
        "called_go": "请到",
        "called_window": "{n} 号窗口",
        "called_hint": "请持号票前往窗口办理",
        "called_again": "第 {n} 次呼叫",
        "alerts_on": "已开启声音与振动提醒",
        "alerts_enable": "开启声音与振动提醒",
        "updated": "实时更新",
        "issued_at": "取号时间",
        "lang_switch": "English",
        "not_found_title": "未找到",
        "not_found_ticket": "未找到这张号票。请核对号票上的二维码，或到服务台咨询。",
        "not_found_window": "没有这个窗口。",
        "expired_hint": "这张号票不是今天的，已失效。",
        "done_hint": "感谢您的耐心等候。",
        "no_show_hint": "您的号码已过号，如需办理请到服务台咨询。",
        "cancelled_hint": "这张号票已取消。",
        "transferred_hint": "您的号码已转到：{service}",
    },
    "en": {
        "html_lang": "en",
        "now_calling": "Now calling",
        "recent_calls": "Recent calls",
        "waiting": "Waiting",
        "people": "",
        "window_n": "Window {n}",
        "window_short": "W{n}",
        "please_go": "Number {number}, please go to window {window}",
        "no_calls": "Please watch the screen and listen for your number",
        "welcome": "Welcome",
        "reconnecting": "Reconnecting…",
        "enable_voice": "Click to enable voice",
        "serving": "Now serving",
        "idle": "Waiting for the next call",
        "paused": "Closed",
        "services": "Services",
        "waiting_here": "{n} waiting",
        "recall": "again",
        "weekdays": "Sunday,Monday,Tuesday,Wednesday,Thursday,Friday,Saturday",
        "date_format": "{y}-{m}-{d}",
        "track_title": "Your place in the queue",
        "your_number": "Your number",
        "status": "Status",
        "status_waiting": "Waiting",
        "status_called": "Please go to the window",
        "status_done": "Done",
        "status_no_show": "Missed",
        "status_cancelled": "Cancelled",
        "status_expired": "Expired",
        "ahead": "People ahead",
        "est_wait": "Estimated wait",
        "minutes": "min",
        "about_minutes": "about {n} min",
        "windows_serving": "Windows",
        "called_go": "Please go to",
        "called_window": "Window {n}",
        "called_hint": "Bring your ticket to the window",
        "called_again": "called {n} times",
        "alerts_on": "Sound and vibration alerts are on",
        "alerts_enable": "Turn on sound and vibration alerts",
        "updated": "Live",
        "issued_at": "Issued at",
        "lang_switch": "中文",
        "not_found_title": "Not found",
        "not_found_ticket": "This ticket was not found. Check the QR code on your ticket or ask at the help desk.",
        "not_found_window": "There is no such window.",
        "expired_hint": "This ticket is not from today and is no longer valid.",
        "done_hint": "Thank you for waiting.",
        "no_show_hint": "Your number was missed. Please ask at the help desk.",
        "cancelled_hint": "This ticket was cancelled.",
        "transferred_hint": "Your number was moved to: {service}",
    },
}


def pick_lang(value: str | None) -> str:
    """``?lang=en`` → "en"; anything else → "zh" (Chinese first)."""
    return value if value in LANGS else "zh"


def strings(lang: str) -> dict[str, str]:
    """The table of one language (Chinese for an unknown one)."""
    return STRINGS[pick_lang(lang)]
