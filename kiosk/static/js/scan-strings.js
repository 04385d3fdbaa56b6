/*
 * OneWindow (一窗通) — the words of the kiosk's QR scanner part (scan.js): zh-CN first, English second. Refusals of
 * the hall's rules (too early, too late, not today …) come from the server in both languages; these are the page's
 * own words.
 */
export default {
  zh: {
    hintTitle: "已预约？扫码签到",
    hintText: "请将预约二维码对准扫码口",
    notFound: "没有找到这个二维码对应的预约，请出示预约成功后收到的预约二维码，或咨询工作人员。",
    notOurs: "无法识别这个二维码，请出示预约成功后收到的预约二维码，或咨询工作人员。",
  },
  en: {
    hintTitle: "Booked?",
    hintText: "Hold your booking QR code to the scanner",
    notFound: "No booking of this hall has this QR code. Please show the QR code of your booking confirmation, or ask a member of staff.",
    notOurs: "This QR code cannot be read here. Please show the QR code of your booking confirmation, or ask a member of staff.",
  },
};
