/*
 * OneWindow (一窗通) — every service tile holds its text. A tile's box is the grid's (kiosk.css: the tiles of a row
 * share their height, those of a column their width, so they stay aligned), while its text depends on the service,
 * the language, the state and the mode: a closed tile in English has its name on two lines, the other name, the
 * reason and when it opens. When some tile's text does not fit its box, the grid goes through the levels of
 * kiosk.css ("tiles too full": `.tiles[data-fit]`), one at a time and the same for every tile, until every tile holds
 * its text — tighter lines and a smaller name (never under 28 px), a closed tile without its 暂停取号 badge and the
 * arrow's room, then closed tiles, then all tiles, without the other language's name (as in 大字模式).
 *
 * The grid is fitted again whenever it may have changed: its tiles redrawn, its size (orientation, the footer's
 * warning), the mode (大字模式 is a class on the kiosk's root), the web font arriving.
 */

/** The highest level of kiosk.css. */
export const FIT_LEVELS = 3;

/** Does the tile's content reach past its box? (2 px: the font's own line height, not text) */
function overflows(tile) {
  return tile.scrollHeight > tile.clientHeight + 2 || tile.scrollWidth > tile.clientWidth + 2;
}

/** Set the grid's level: the first at which every tile holds its text (the last one when none does). */
export function fitTiles(grid) {
  const tiles = [...grid.querySelectorAll(".tile")];
  let level = 0;
  delete grid.dataset.fit;
  while (level < FIT_LEVELS && tiles.some(overflows)) grid.dataset.fit = String(++level);
  return level;
}

/** Keep `grid` fitted while the kiosk (`root`) runs. */
export function keepFitted(grid, root) {
  const fit = () => fitTiles(grid);
  new MutationObserver(fit).observe(grid, { childList: true });                                  // redrawn
  new MutationObserver(fit).observe(root, { attributes: true, attributeFilter: ["class", "data-lang"] });  // modes
  new ResizeObserver(fit).observe(grid);                                                         // its room
  document.fonts.addEventListener("loadingdone", fit);
  document.fonts.ready.then(fit);
  fit();
  return fit;
}
