package main

// Strict JSON (docs/evidence-bundle.md §1) and the ledger's canonical encoding (§2), written from the
// doc alone: a parser that keeps member order and refuses repeated members, fractions, exponents,
// integers beyond ±(2^53−1), lone surrogates and invalid UTF-8; an encoder that re-encodes canonically.

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const maxInt = 1<<53 - 1

type kind int

const (
	kNull kind = iota
	kBool
	kInt
	kString
	kArray
	kObject
)

type member struct {
	key string
	val *value
}

type value struct {
	kind    kind
	b       bool
	i       int64
	s       string
	arr     []*value
	members []member
}

// get returns the member named key, or nil.
func (v *value) get(key string) *value {
	for _, m := range v.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

func (v *value) keys() []string {
	out := make([]string, len(v.members))
	for i, m := range v.members {
		out[i] = m.key
	}
	return out
}

type parser struct {
	data []byte
	pos  int
}

func parseStrict(data []byte) (*value, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("not UTF-8")
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, fmt.Errorf("byte order mark")
	}
	p := &parser{data: data}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(data) {
		return nil, fmt.Errorf("data after the JSON value at byte %d", p.pos)
	}
	return v, nil
}

func (p *parser) ws() {
	for p.pos < len(p.data) && bytes.IndexByte([]byte(" \t\n\r"), p.data[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *parser) fail(what string) error { return fmt.Errorf("%s at byte %d", what, p.pos) }

func (p *parser) lit(word string) bool {
	if bytes.HasPrefix(p.data[p.pos:], []byte(word)) {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *parser) value(depth int) (*value, error) {
	if depth > 64 {
		return nil, p.fail("nesting too deep")
	}
	if p.pos >= len(p.data) {
		return nil, p.fail("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		p.pos++
		v := &value{kind: kArray, arr: []*value{}}
		p.ws()
		if p.lit("]") {
			return v, nil
		}
		for {
			p.ws()
			e, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			v.arr = append(v.arr, e)
			p.ws()
			if p.lit("]") {
				return v, nil
			}
			if !p.lit(",") {
				return nil, p.fail("expected , or ]")
			}
		}
	case c == '"':
		s, err := p.str()
		return &value{kind: kString, s: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case p.lit("true"):
		return &value{kind: kBool, b: true}, nil
	case p.lit("false"):
		return &value{kind: kBool}, nil
	case p.lit("null"):
		return &value{kind: kNull}, nil
	}
	return nil, p.fail("not JSON")
}

func (p *parser) object(depth int) (*value, error) {
	p.pos++
	v := &value{kind: kObject, members: []member{}}
	seen := map[string]bool{}
	p.ws()
	if p.lit("}") {
		return v, nil
	}
	for {
		p.ws()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.fail("expected a member name")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, p.fail(fmt.Sprintf("member %q repeated", k))
		}
		seen[k] = true
		p.ws()
		if !p.lit(":") {
			return nil, p.fail("expected :")
		}
		p.ws()
		e, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.members = append(v.members, member{k, e})
		p.ws()
		if p.lit("}") {
			return v, nil
		}
		if !p.lit(",") {
			return nil, p.fail("expected , or }")
		}
	}
}

func (p *parser) number() (*value, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	n := p.pos - digits
	if n == 0 || (n > 1 && p.data[digits] == '0') {
		return nil, p.fail("bad number")
	}
	if p.pos < len(p.data) && bytes.IndexByte([]byte(".eE"), p.data[p.pos]) >= 0 {
		return nil, p.fail("number with a fraction or exponent")
	}
	i, err := strconv.ParseInt(string(p.data[start:p.pos]), 10, 64)
	if err != nil || i > maxInt || i < -maxInt {
		return nil, p.fail("integer out of range")
	}
	return &value{kind: kInt, i: i}, nil
}

func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	var out []byte
	for {
		if p.pos >= len(p.data) {
			return "", p.fail("unterminated string")
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(out), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			out = append(out, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			return "", p.fail("unterminated escape")
		}
		e := p.data[p.pos+1]
		p.pos += 2
		if i := bytes.IndexByte([]byte(`"\/bfnrt`), e); i >= 0 {
			out = append(out, "\"\\/\b\f\n\r\t"[i])
			continue
		}
		if e != 'u' {
			return "", p.fail("bad escape")
		}
		r, err := p.hex4()
		if err != nil {
			return "", err
		}
		if utf16.IsSurrogate(r) {
			if r >= 0xdc00 || !p.lit(`\u`) {
				return "", p.fail("lone surrogate")
			}
			lo, err := p.hex4()
			if err != nil {
				return "", err
			}
			if r = utf16.DecodeRune(r, lo); r == utf8.RuneError {
				return "", p.fail("lone surrogate")
			}
		}
		out = utf8.AppendRune(out, r)
	}
}

func (p *parser) hex4() (rune, error) {
	if p.pos+4 > len(p.data) {
		return 0, p.fail("short \\u escape")
	}
	n, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, p.fail("bad \\u escape")
	}
	p.pos += 4
	return rune(n), nil
}

// canonical appends the canonical encoding of v (§2); an object's members are sorted by code point,
// except at the top level when keepOrder (records and statements have the order of the doc's tables).
func canonical(out *bytes.Buffer, v *value, keepOrder bool) error {
	switch v.kind {
	case kNull:
		out.WriteString("null")
	case kBool:
		out.WriteString(strconv.FormatBool(v.b))
	case kInt:
		out.WriteString(strconv.FormatInt(v.i, 10))
	case kString:
		return canonString(out, v.s)
	case kArray:
		out.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := canonical(out, e, false); err != nil {
				return err
			}
		}
		out.WriteByte(']')
	case kObject:
		ms := append([]member(nil), v.members...)
		if !keepOrder {
			// Go strings compare bytewise: UTF-8 byte order = code point order.
			sort.Slice(ms, func(i, j int) bool { return ms[i].key < ms[j].key })
		}
		out.WriteByte('{')
		for i, m := range ms {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := canonString(out, m.key); err != nil {
				return err
			}
			out.WriteByte(':')
			if err := canonical(out, m.val, false); err != nil {
				return err
			}
		}
		out.WriteByte('}')
	}
	return nil
}

func canonString(out *bytes.Buffer, s string) error {
	if !norm.NFC.IsNormalString(s) {
		return fmt.Errorf("text not in Unicode NFC: %q", s)
	}
	out.WriteByte('"')
	for _, c := range []byte(s) {
		switch c {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '\b':
			out.WriteString(`\b`)
		case '\t':
			out.WriteString(`\t`)
		case '\n':
			out.WriteString(`\n`)
		case '\f':
			out.WriteString(`\f`)
		case '\r':
			out.WriteString(`\r`)
		default:
			if c < 0x20 {
				fmt.Fprintf(out, `\u%04x`, c)
			} else {
				out.WriteByte(c)
			}
		}
	}
	out.WriteByte('"')
	return nil
}

// parseCanonical parses bytes that must be canonical JSON whose top-level object has exactly the
// members order (in that order).
func parseCanonical(data []byte, order []string) (*value, error) {
	v, err := parseStrict(data)
	if err != nil {
		return nil, err
	}
	if v.kind != kObject || fmt.Sprint(v.keys()) != fmt.Sprint(order) {
		return nil, fmt.Errorf("members are not exactly %v in that order", order)
	}
	var buf bytes.Buffer
	if err := canonical(&buf, v, true); err != nil {
		return nil, err
	}
	if !bytes.Equal(buf.Bytes(), data) {
		return nil, fmt.Errorf("not canonical JSON")
	}
	return v, nil
}
