package report

import (
	"errors"
	"os"
	"strings"
)

// Markers delimit the generated part of a README.
const (
	BeginMarker = "<!-- bench:begin -->"
	EndMarker   = "<!-- bench:end -->"
)

// ReplaceSection writes content between the markers of the file at path, keeping the rest.
func ReplaceSection(path, content string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i := strings.Index(s, BeginMarker)
	j := strings.Index(s, EndMarker)
	if i < 0 || j < i {
		return errors.New(path + ": no " + BeginMarker + " ... " + EndMarker + " section to replace")
	}
	s = s[:i+len(BeginMarker)] + "\n" + strings.TrimSpace(content) + "\n" + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
