// Package manual holds the manuals of git-remote-codecommit and
// git-credential-codecommit as data: their --help text (Page.Help) and
// their man pages (rendered by internal/cmd/gendocs) come from the same
// Page, and a test checks README's usage blocks and variable tables
// against it, so the three cannot disagree. The variables it names are
// those internal/envvar declares as the helpers' (a test checks), by
// envvar's constants for codecommitd's own. It uses only the standard
// library and envvar: the helpers link it, and print it only when asked.
package manual

import "strings"

// Page is one program's manual.
type Page struct {
	// Name is the program's name.
	Name string
	// Summary says what it is, in one line, without the name.
	Summary string
	// Synopsis lists how it is run, one usage per line, each starting
	// with Name.
	Synopsis []string
	// Description is paragraphs of plain text.
	Description []string
	// Sections are the page's own parts (URL forms, configuration).
	Sections []Section
	// Environment lists the variables it reads, in groups (shared between
	// pages without building a list at start-up).
	Environment [][]Item
	// Exit lists its exit statuses.
	Exit []Item
	// SeeAlso names related manual pages, as "git(1)".
	SeeAlso []string
}

// Section is a titled part of a page: paragraphs, then items, then lines
// shown as they are (commands, configuration).
type Section struct {
	Title    string
	Text     []string
	Items    []Item
	Verbatim []string
}

// Item is a term and what it means.
type Item struct{ Term, Text string }

// Help is the page as --help prints it: plain text, wrapped at 80
// columns.
func (p *Page) Help() string {
	var b strings.Builder
	b.WriteString(p.Name + ": " + p.Summary + ".\n\nUsage:\n")
	for _, s := range p.Synopsis {
		b.WriteString("  " + s + "\n")
	}
	for _, t := range p.Description {
		b.WriteString("\n" + wrap(t, "", 80))
	}
	for _, s := range p.Sections {
		b.WriteString("\n" + s.Title + ":\n")
		for _, t := range s.Text {
			b.WriteString(wrap(t, "  ", 80))
		}
		items(&b, s.Items)
		if len(s.Text) > 0 && len(s.Verbatim) > 0 {
			b.WriteString("\n")
		}
		for _, v := range s.Verbatim {
			b.WriteString("  " + v + "\n")
		}
	}
	b.WriteString("\nEnvironment:\n")
	for _, group := range p.Environment {
		items(&b, group)
	}
	b.WriteString("\nExit status:\n")
	items(&b, p.Exit)
	b.WriteString("\nThe manual: man " + p.Name + "; more in codecommitd's README.\n")
	return b.String()
}

// items writes a list of terms, each on its own line with its text
// wrapped below it (a short term, such as an exit status, beside it).
func items(b *strings.Builder, list []Item) {
	const indent = "        "
	for _, it := range list {
		if len(it.Term) < len(indent)-2 {
			text := wrap(it.Text, indent, 80)
			b.WriteString("  " + it.Term + text[2+len(it.Term):])
			continue
		}
		b.WriteString("  " + it.Term + "\n")
		b.WriteString(wrap(it.Text, indent, 80))
	}
}

// wrap fills text into lines of at most width columns, each starting with
// indent.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if line != indent && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
	return b.String()
}
