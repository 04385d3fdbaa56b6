/*
 * OneWindow (一窗通) — the kiosk's large-text, high-contrast mode (适老化): one tap on 大字模式 turns it on (and the
 * spoken guidance with it); choosing 绿色通道 turns it on by itself. It stays on for the visit and goes off when the
 * kiosk resets (the visit ends or nobody touched the screen for a minute). The mode is a class on the kiosk's root
 * (`large`): the stylesheet does the rest.
 */
export function createAccess({ root, button, onChange }) {
  const state = { large: false };

  function render() {
    root.classList.toggle("large", state.large);
    button.setAttribute("aria-pressed", String(state.large));
  }

  function set(on, why = "tap") {
    const next = Boolean(on);
    if (next === state.large) return;
    state.large = next;
    render();
    if (onChange) onChange(state.large, why);
  }

  button.addEventListener("click", () => set(!state.large, "tap"));
  render();
  return {
    get large() { return state.large; },
    set,
    /** the kiosk reset: back to the normal mode */
    reset() { set(false, "reset"); },
  };
}
