/* OneWindow (一窗通) — the not-found page of the public screens: its words in the language of the link (?lang=en). */
import { openScreen } from "./screen.js";

const screen = openScreen();
document.title = screen.t("not_found_title") + " — " + document.body.dataset.hall;
