/*
 * OneWindow (一窗通) — the evaluation tablet's words (好差评), zh-CN first, English second: the catalogue for
 * /assets/js/i18n.js ({name} is filled by i18n.t()).
 */

export default {
  zh: {
    title: "服务评价", pair_label: "设备令牌",
    idle_title: "欢迎您对我们的服务进行评价", idle_text: "业务办结后，请在此屏幕上为本窗口的服务打分。",
    open_title: "请您为本次服务评价", thanks_title: "感谢您的评价！", thanks_text: "您的评价：{label}。我们会不断改进服务。",
    thanks_follow: "您的评价：{label}。工作人员将尽快回访，了解您遇到的问题。", left: "{s} 秒后自动关闭",
    foot: "一窗通 · 好差评", window_no: "{n}号窗口", ticket: "（{number} {service}）",
    e_rating_closed: "评价时间已过，感谢您的光临", e_already_rated: "本次服务已评价，感谢您",
    e_not_last_finished: "本次评价已结束，感谢您", e_network: "网络异常，请稍后再试",
    pair_title: "本评价器尚未配对", pair_text: "只有本窗口登记过的评价器才能收集评价。请工作人员输入本窗口评价器的设备令牌。",
    pair_button: "配对", pair_bad: "令牌无效，请核对后重新输入。", pair_other: "这不是本窗口评价器的令牌。",
    pair_lost: "本评价器的令牌已失效，请重新配对。",
    detail_good: "您的评价：{label}。您对哪些方面满意？（可多选）", detail_bad: "您的评价：{label}。请告诉我们不满意的原因",
    detail_hint_good: "点选后提交；也可直接提交。", detail_hint_bad: "请点选原因（可多选），也可以写下您遇到的问题。",
    text_label: "其他意见（选填）", phone_label: "如需回访，请留下联系电话（选填）", phone_note: "电话仅用于回访，不会公开显示。",
    back: "重新选择", submit: "提交评价", e_phone: "请输入正确的手机号（11 位）或固话", e_reason: "请选择或填写不满意的原因",
    e_invalid_value: "填写的内容有误，请检查", e_invalid_option: "请重新选择", e_text_not_allowed: "该评价等级不收集文字意见",
  },
  en: {
    title: "Service rating", pair_label: "Device token",
    idle_title: "Please rate our service", idle_text: "When your business is done, rate this window's service here.",
    open_title: "How was our service?", thanks_title: "Thank you for your rating!",
    thanks_text: "You rated: {label}. We keep improving.", thanks_follow: "You rated: {label}. Our staff will contact you to follow up.",
    left: "closes in {s} s", foot: "OneWindow · service rating", window_no: "Window {n}", ticket: "({number} {service})",
    e_rating_closed: "The time to rate has passed. Thank you!", e_already_rated: "This service has been rated. Thank you!",
    e_not_last_finished: "This rating has ended. Thank you!", e_network: "Network problem; please try again",
    pair_title: "This rating tablet is not paired", pair_text: "Only this window's registered tablet can collect ratings. Staff: enter the device token of this window's tablet.",
    pair_button: "Pair", pair_bad: "This token is not valid. Please check it and try again.",
    pair_other: "This is not the token of this window's tablet.", pair_lost: "This tablet's token is no longer valid. Please pair it again.",
    detail_good: "You rated: {label}. What did you like? (any)", detail_bad: "You rated: {label}. Please tell us what went wrong",
    detail_hint_good: "Tap any that apply, then submit (or just submit).", detail_hint_bad: "Tap the reasons (any), or write what happened.",
    text_label: "Other comments (optional)", phone_label: "For a call-back, leave a phone number (optional)",
    phone_note: "Used only to call you back; never shown publicly.", back: "Choose again", submit: "Submit",
    e_phone: "Enter a valid mobile (11 digits) or landline number", e_reason: "Choose or write a reason",
    e_invalid_value: "Please check what you entered", e_invalid_option: "Please choose again",
    e_text_not_allowed: "This level takes no comments",
  },
};
