package main

import (
	"strings"

	"github.com/codecommitd/codecommitd/internal/manual"
)

// roff renders p as a man page (man(7) macros) of section 1.
func roff(p *manual.Page, version string) string {
	var b strings.Builder
	line := func(s ...string) { b.WriteString(strings.Join(s, "") + "\n") }
	line(`.TH "`, strings.ToUpper(p.Name), `" "1" "" "codecommitd `, esc(version), `" "codecommitd manual"`)
	line(".nh") // no hyphenation: names and variables are copied from man pages
	line(".ad l")
	line(".SH NAME")
	line(esc(p.Name), ` \- `, esc(p.Summary))
	line(".SH SYNOPSIS")
	for _, s := range p.Synopsis {
		name, rest, _ := strings.Cut(s, " ")
		line(".HP")
		line(`\fB`, esc(name), `\fR `, esc(rest))
	}
	line(".SH DESCRIPTION")
	for _, t := range p.Description {
		line(".PP")
		line(esc(t))
	}
	for _, s := range p.Sections {
		line(`.SH "`, strings.ToUpper(s.Title), `"`)
		for _, t := range s.Text {
			line(".PP")
			line(esc(t))
		}
		items(&b, s.Items)
		if len(s.Verbatim) > 0 {
			line(".PP")
			line(".nf")
			line(".RS")
			for _, v := range s.Verbatim {
				line(esc(v))
			}
			line(".RE")
			line(".fi")
		}
	}
	line(".SH ENVIRONMENT")
	for _, group := range p.Environment {
		items(&b, group)
	}
	line(`.SH "EXIT STATUS"`)
	items(&b, p.Exit)
	line(`.SH "SEE ALSO"`)
	var refs []string
	for _, r := range p.SeeAlso {
		name, sect, _ := strings.Cut(r, "(")
		refs = append(refs, `\fB`+esc(name)+`\fR(`+sect)
	}
	line(strings.Join(refs, ", "))
	return b.String()
}

// items renders a list of terms and their texts as tagged paragraphs.
func items(b *strings.Builder, list []manual.Item) {
	for _, it := range list {
		b.WriteString(".TP\n\\fB" + esc(it.Term) + "\\fR\n" + esc(it.Text) + "\n")
	}
}

// esc makes text safe in a roff text line: a backslash is printed as one,
// a hyphen as a hyphen-minus (options and commands are copied from man
// pages), and a line never starts with a control character.
func esc(text string) string {
	text = strings.NewReplacer(`\`, `\e`, `-`, `\-`).Replace(text)
	if strings.HasPrefix(text, ".") || strings.HasPrefix(text, "'") {
		text = `\&` + text
	}
	return text
}
