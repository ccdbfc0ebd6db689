// Package report renders benchmark results as a Markdown table: one row per scenario, system and
// metric, with the ratio to the Centrifuge peer's value of the same metric and the number of Azure Web
// PubSub units the value amounts to.
package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// PeerSystem is the system every ratio is taken against.
const PeerSystem = "centrifuge"

// Unit says how a value is measured and printed.
type Unit int

// Units of values.
const (
	Count Unit = iota
	MsgPerSec
	ConnPerSec
	Bytes
	Millis
)

// Row is one measurement. A row without a value (an error, or a metric a system cannot have) prints
// its Note in place of the value.
type Row struct {
	Scenario, System, Metric string
	Value                    float64
	HasValue                 bool
	Unit                     Unit
	// PerUnit is what one Azure Web PubSub unit is rated for on this metric; zero when Azure publishes
	// no comparable number.
	PerUnit float64
	Note    string
}

// Table is a benchmark report.
type Table struct {
	// Title heads the report.
	Title string
	// Facts describe the run: machine, versions, settings (one "- " line each).
	Facts []string
	// Notes say what was skipped and why, and other caveats.
	Notes []string
	Rows  []Row
}

// Add appends a row with a value.
func (t *Table) Add(scenario, system, metric string, v float64, u Unit, perUnit float64, note string) {
	t.Rows = append(t.Rows, Row{Scenario: scenario, System: system, Metric: metric, Value: v, HasValue: true, Unit: u, PerUnit: perUnit, Note: note})
}

// Fail appends a row without a value that says why.
func (t *Table) Fail(scenario, system, metric, why string) {
	t.Rows = append(t.Rows, Row{Scenario: scenario, System: system, Metric: metric, Note: why})
}

// Markdown renders the facts, the table and the notes.
func (t *Table) Markdown() string {
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "## %s\n\n", t.Title)
	}
	for _, f := range t.Facts {
		fmt.Fprintf(&b, "- %s\n", f)
	}
	if len(t.Facts) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("| scenario | system | metric | value | vs centrifuge | Azure units | note |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | --- |\n")
	for _, r := range t.grouped() {
		value, ratio, units := "-", "", ""
		if r.HasValue {
			value = Format(r.Value, r.Unit)
			if p, ok := t.peer(r); ok && p.Value != 0 {
				ratio = fmt.Sprintf("%.2f", r.Value/p.Value)
			}
			if r.PerUnit > 0 {
				units = fmt.Sprintf("%.1f", r.Value/r.PerUnit)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			cell(r.Scenario), cell(r.System), cell(r.Metric), value, ratio, units, cell(r.Note))
	}
	if len(t.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range t.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// grouped returns the rows with each scenario's rows together, scenarios in order of first appearance
// (a run may add rows to an earlier scenario, as kwps's REST variant of a group scenario does).
func (t *Table) grouped() []Row {
	order := map[string]int{}
	for _, r := range t.Rows {
		if _, ok := order[r.Scenario]; !ok {
			order[r.Scenario] = len(order)
		}
	}
	rows := slices.Clone(t.Rows)
	slices.SortStableFunc(rows, func(a, b Row) int { return order[a.Scenario] - order[b.Scenario] })
	return rows
}

// peer finds the peer's row for the same scenario and metric.
func (t *Table) peer(r Row) (Row, bool) {
	for _, p := range t.Rows {
		if p.System == PeerSystem && p.Scenario == r.Scenario && p.Metric == r.Metric && p.HasValue {
			return p, true
		}
	}
	return Row{}, false
}

// Format prints v in unit u with thousands separators.
func Format(v float64, u Unit) string {
	switch u {
	case MsgPerSec:
		return thousands(v) + " msg/s"
	case ConnPerSec:
		return thousands(v) + " conn/s"
	case Bytes:
		switch {
		case math.Abs(v) >= 1<<20:
			return fmt.Sprintf("%.1f MiB", v/(1<<20))
		case math.Abs(v) >= 1<<10:
			return fmt.Sprintf("%.1f KiB", v/(1<<10))
		}
		return fmt.Sprintf("%.0f B", v)
	case Millis:
		if v < 10 {
			return fmt.Sprintf("%.2f ms", v)
		}
		return thousands(v) + " ms"
	}
	return thousands(v)
}

// thousands rounds v and groups its digits by three.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	if v < 0 && s != "0" {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// cell escapes what would break a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
