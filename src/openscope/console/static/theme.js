// Light or dark: the system's choice (prefers-color-scheme) until the toggle picks one;
// the pick is kept in localStorage (a display preference, not a secret).
const THEME_ITEM = "openscope.theme";

export function initTheme(button) {
  const system = window.matchMedia("(prefers-color-scheme: dark)");
  const current = () => localStorage.getItem(THEME_ITEM) ?? (system.matches ? "dark" : "light");
  const show = () => {
    const theme = current();
    document.documentElement.dataset.theme = theme;
    button.setAttribute("aria-pressed", String(theme === "dark"));
  };
  button.addEventListener("click", () => {
    localStorage.setItem(THEME_ITEM, current() === "dark" ? "light" : "dark");
    show();
  });
  system.addEventListener("change", show);
  show();
}
