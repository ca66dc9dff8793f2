package report

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Series is one line of a line chart.
type Series struct {
	Name string
	X, Y []float64
	// Reference draws the line black and dashed: a total to read the others against.
	Reference bool
}

// Band shades a stretch of the x axis (a phase of the run) with a label.
type Band struct {
	Label    string
	From, To float64
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
	"#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#843c39", "#7b4173", "#e7ba52", "#5254a3",
	"#ad494a", "#31a354"}

const (
	chartW, chartH = 900, 420
	padL, padR     = 70, 190
	padT, padB     = 40, 50
)

// LineChart draws series over a shared x axis as a standalone SVG document.
func LineChart(title, xLabel, yLabel string, series []Series, bands []Band) string {
	var xmax, ymax float64
	for _, s := range series {
		for i := range s.X {
			xmax = math.Max(xmax, s.X[i])
			ymax = math.Max(ymax, s.Y[i])
		}
	}
	for _, b := range bands {
		xmax = math.Max(xmax, b.To)
	}
	if xmax == 0 {
		xmax = 1
	}
	ymax = niceCeil(ymax)
	pw, ph := float64(chartW-padL-padR), float64(chartH-padT-padB)
	px := func(x float64) float64 { return float64(padL) + x/xmax*pw }
	py := func(y float64) float64 { return float64(padT) + ph - y/ymax*ph }
	var b strings.Builder
	header(&b, title)
	for i, band := range bands {
		x0, x1 := px(band.From), px(band.To)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%.0f" fill="%s" opacity="0.25"/>`+"\n",
			x0, padT, math.Max(1, x1-x0), ph, []string{"#dde7f3", "#f3e6dd"}[i%2])
		// Labels stand upright along the band's left edge, so narrow phases do not overprint.
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9" fill="#555" transform="rotate(90 %.1f %d)">%s</text>`+"\n",
			x0+3, padT+4, x0+3, padT+4, esc(band.Label))
	}
	axes(&b, xLabel, yLabel, xmax, ymax, px, py)
	for i, s := range series {
		if len(s.X) == 0 {
			continue
		}
		var pts []string
		for j := range s.X {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[j]), py(s.Y[j])))
		}
		c, dash := palette[i%len(palette)], ""
		if s.Reference {
			c, dash = "#000", ` stroke-dasharray="5,3"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6"%s points="%s"/>`+"\n", c, dash, strings.Join(pts, " "))
		legend(&b, i, s.Name, c)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// BarGroup is one cluster of bars (e.g. "hold, full speed") with one value per series.
type BarGroup struct {
	Label  string
	Values []float64
}

// BarChart draws clusters of bars; names label the bars of each cluster (p50, p95, p99).
func BarChart(title, yLabel string, names []string, groups []BarGroup) string {
	var ymax float64
	for _, g := range groups {
		for _, v := range g.Values {
			ymax = math.Max(ymax, v)
		}
	}
	ymax = niceCeil(ymax)
	pw, ph := float64(chartW-padL-padR), float64(chartH-padT-padB)
	py := func(y float64) float64 { return float64(padT) + ph - y/ymax*ph }
	var b strings.Builder
	header(&b, title)
	axes(&b, "", yLabel, 0, ymax, nil, py)
	if len(groups) > 0 {
		slot := pw / float64(len(groups))
		bw := slot * 0.8 / float64(max(1, len(names)))
		for gi, g := range groups {
			x0 := float64(padL) + float64(gi)*slot + slot*0.1
			for vi, v := range g.Values {
				x := x0 + float64(vi)*bw
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n",
					x, py(v), bw*0.9, float64(padT)+ph-py(v), palette[vi%len(palette)])
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="9" text-anchor="middle">%s</text>`+"\n",
					x+bw*0.45, py(v)-3, trim(v))
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>`+"\n",
				x0+slot*0.4, chartH-padB+16, esc(g.Label))
		}
	}
	for i, n := range names {
		legend(&b, i, n, palette[i%len(palette)])
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func header(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	fmt.Fprintf(b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", padL, esc(title))
}

func axes(b *strings.Builder, xLabel, yLabel string, xmax, ymax float64, px, py func(float64) float64) {
	x0, y0 := float64(padL), float64(chartH-padB)
	fmt.Fprintf(b, `<line x1="%.0f" y1="%d" x2="%.0f" y2="%.0f" stroke="#333"/>`+"\n", x0, padT, x0, y0)
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%d" y2="%.0f" stroke="#333"/>`+"\n", x0, y0, chartW-padR, y0)
	for i := 0; i <= 5; i++ {
		v := ymax * float64(i) / 5
		y := py(v)
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`+"\n", x0, y, chartW-padR, y)
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" font-size="10" text-anchor="end">%s</text>`+"\n", x0-4, y+3, trim(v))
	}
	if px != nil {
		for i := 0; i <= 6; i++ {
			v := xmax * float64(i) / 6
			fmt.Fprintf(b, `<text x="%.1f" y="%.0f" font-size="10" text-anchor="middle">%s</text>`+"\n", px(v), y0+14, trim(v))
		}
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="11" text-anchor="middle">%s</text>`+"\n", (padL+chartW-padR)/2, chartH-12, esc(xLabel))
	fmt.Fprintf(b, `<text x="14" y="%d" font-size="11" text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>`+"\n",
		(padT+chartH-padB)/2, (padT+chartH-padB)/2, esc(yLabel))
}

func legend(b *strings.Builder, i int, name, color string) {
	y := padT + 8 + i*16
	x := chartW - padR + 12
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="10" fill="%s"/>`+"\n", x, y-9, color)
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="11">%s</text>`+"\n", x+16, y, esc(name))
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten, so axis labels read well.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trim(v float64) string {
	switch {
	case v >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func esc(s string) string { return html.EscapeString(s) }
