/*
 * OneWindow (一窗通) — the kiosk's 需要帮助 (need help) button: it alerts the supervisor / floor guide (导办) through
 * POST /api/v1/kiosks/<id>/help (one request per press, Idempotency-Key from the API client; the server keeps one
 * open request per kiosk and refuses a kiosk that asked a moment ago). The citizen reads 已通知工作人员，请稍候; the
 * button rests for a minute after a press, so it cannot be used to spam the desk.
 */
const REST_MS = 60000;

export function createHelp({ button, api, kiosk, t, show }) {
  let restTimer = null;

  function rest(ms) {
    button.disabled = true;
    button.classList.add("sent");
    clearTimeout(restTimer);
    restTimer = setTimeout(() => {
      button.disabled = false;
      button.classList.remove("sent");
    }, ms);
  }

  async function press() {
    const id = kiosk();
    if (!id || button.disabled) return;
    button.disabled = true;
    try {
      await api.post("/api/v1/kiosks/" + encodeURIComponent(id) + "/help", {});
      rest(REST_MS);
      show(t("helpSent"), "help");
    } catch (err) {
      if (err.status === 429) {  // asked a moment ago: staff know already
        rest(Math.max(5, (err.details && err.details.retry_after) || 30) * 1000);
        show(t("helpSent"), "help");
      } else {
        button.disabled = false;
        show(t("helpFailed"));
      }
    }
  }

  button.addEventListener("click", press);
  return { press };
}
