() => {
  // WCAG 2 contrast of every visible text in the page (test_console_contrast_browser.py).
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, below) => {
    const a = top.a + below.a * (1 - top.a);
    if (a === 0) return { r: 0, g: 0, b: 0, a: 0 };
    const mix = (k) => (top[k] * top.a + below[k] * below.a * (1 - top.a)) / a;
    return { r: mix("r"), g: mix("g"), b: mix("b"), a };
  };
  const luminance = ({ r, g, b }) => {
    const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const background = (element) => {
    const layers = [];
    let images = false;
    for (let node = element; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== "none") images = true;
      layers.push(parse(style.backgroundColor));
    }
    let colour = { r: 255, g: 255, b: 255, a: 1 }; // the canvas: white unless the root paints
    for (const layer of layers.reverse()) if (layer) colour = over(layer, colour);
    return { colour, images };
  };
  const drawsText = (el) =>
    ["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(el.tagName) ||
    [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  const results = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!drawsText(el) || el.closest("[hidden], .sr-only")) continue;
    if (el.disabled) continue; // WCAG 1.4.3 exempts inactive controls
    const rect = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!rect.width || !rect.height || style.visibility === "hidden" || style.display === "none") continue;
    if (el.tagName === "INPUT" && ["checkbox", "radio", "range", "color"].includes(el.type)) continue;
    if (["INPUT", "TEXTAREA"].includes(el.tagName) && !el.value && !el.placeholder) continue;
    const { colour: bg, images } = background(el);
    // SVG text is drawn in its fill, HTML text in its colour
    const fg = over(parse(el instanceof SVGElement ? style.fill : style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const size = parseFloat(style.fontSize);
    const bold = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const text = (el.value || el.placeholder || el.textContent).trim().slice(0, 40);
    results.push({
      tag: el.tagName.toLowerCase(), svg: el instanceof SVGElement, id: el.id, cls: el.className && String(el.className),
      text, ratio: (hi + 0.05) / (lo + 0.05), needed: large ? 3 : 4.5, images,
      fg: style.color, bg: `rgb(${Math.round(bg.r)}, ${Math.round(bg.g)}, ${Math.round(bg.b)})`,
    });
    // a placeholder is drawn in its own colour: measure it too
    if (el.placeholder && !el.value) {
      const ph = parse(getComputedStyle(el, "::placeholder").color);
      if (ph) {
        const c = over(ph, bg);
        const [h2, l2] = [luminance(c), luminance(bg)].sort((a, b) => b - a);
        results.push({ tag: el.tagName.toLowerCase() + "::placeholder", id: el.id, cls: "",
          text: el.placeholder.slice(0, 40), ratio: (h2 + 0.05) / (l2 + 0.05), needed: 4.5,
          images, fg: getComputedStyle(el, "::placeholder").color, bg: "" });
      }
    }
  }
  return results;
}
