/*
 * OneWindow (一窗通) — the words of a wait estimate, the same on the kiosk, the phone and the printed ticket
 * (shared/estimates.py WORDS holds the same words for the ticket; tests/test_estimates.py keeps them equal).
 * Pages spread these into their own catalogue and show t(waitKey(wait), {n: wait.minutes}).
 *   soon       — nobody ahead and a window open: "即将叫号" (never "约 0 分钟")
 *   minutes    — "约 {n} 分钟", from staffed, unpaused windows and today's pace
 *   no_window  — no staffed, unpaused window serves it: "暂无窗口办理"
 */
export const WAIT_WORDS = {
  zh: { wait_soon: "即将叫号", wait_minutes: "约 {n} 分钟", wait_no_window: "暂无窗口办理" },
  en: { wait_soon: "Called soon", wait_minutes: "about {n} min", wait_no_window: "No window open" },
};

/** The catalogue key of an estimate ({state, minutes} from the API), or null when there is none. */
export function waitKey(wait) {
  return wait && wait.state ? "wait_" + wait.state : null;
}

export default WAIT_WORDS;
