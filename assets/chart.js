// Charts: a point's reading is a touch (or a keyboard focus) away, not only a hover: the point's
// own title is written under the chart.
(function () {
  "use strict";
  for (const figure of document.querySelectorAll("figure.chart")) {
    const readout = figure.querySelector(".chart-readout");
    if (!readout) continue;
    const show = (event) => {
      const point = event.target.closest ? event.target.closest("circle.point") : null;
      const title = point && point.querySelector("title");
      if (!title) return;
      readout.textContent = title.textContent;
      readout.hidden = false;
    };
    figure.addEventListener("click", show);
    figure.addEventListener("focusin", show);
  }
})();
