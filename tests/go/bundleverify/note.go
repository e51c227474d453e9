package main

// The checkpoint note (§5): Go's sumdb/note opens it with the ledger key; the doc's stricter rules
// (three text lines, no control characters, every line of the ledger key verifies, the signed time)
// are checked here by hand.

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type checkpoint struct {
	size int64
	root tlog.Hash
	time int64 // the ledger key's signed time, -1 if the note has none
}

var sizePat = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// validOrigin: the origin is the note's key name: 1–255 printable ASCII characters except '+' (§5).
func validOrigin(s string) bool {
	if len(s) < 1 || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e || r == '+' {
			return false
		}
	}
	return true
}

func keyHash(name string, typ byte, pub []byte) uint32 {
	h := sha([]byte(name), []byte{'\n', typ}, pub)
	return binary.BigEndian.Uint32(h[:4])
}

func readCheckpoint(msg, origin string, keyAt func(size int64) []byte) *checkpoint {
	for _, r := range msg {
		if r < 0x20 && r != '\n' {
			bad("checkpoint: control character U+%04X", r)
			return nil
		}
	}
	split := strings.LastIndex(msg, "\n\n")
	if split < 0 || !strings.HasSuffix(msg, "\n") {
		bad("checkpoint: not a signed note")
		return nil
	}
	text, sigs := msg[:split+1], strings.Split(strings.TrimSuffix(msg[split+2:], "\n"), "\n")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 3 {
		bad("checkpoint: the text has %d lines, not 3", len(lines))
		return nil
	}
	if lines[0] != origin {
		bad("checkpoint: origin %q is not the bundle's", lines[0])
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	rootBytes, ok := b64(lines[2])
	if !sizePat.MatchString(lines[1]) || err != nil || size < 1 || size > maxInt || !ok || len(rootBytes) != 32 {
		bad("checkpoint: malformed size or root line")
		return nil
	}
	cp := &checkpoint{size: size, time: -1}
	copy(cp.root[:], rootBytes)
	pub := keyAt(size)
	if pub == nil {
		bad("checkpoint: no ledger key known at size %d", size)
		return nil
	}
	vkey, err := note.NewEd25519VerifierKey(origin, ed25519.PublicKey(pub))
	if err != nil {
		bad("checkpoint: origin is not a note key name: %v", err)
		return nil
	}
	verifier, _ := note.NewVerifier(vkey)
	if _, err := note.Open([]byte(msg), note.VerifierList(verifier)); err != nil {
		bad("checkpoint: Go's sumdb/note refuses it under the ledger key: %v", err)
	}
	// The doc asks more than note.Open: every line of the ledger key verifies (Go skips repeats).
	if len(sigs) > 100 {
		bad("checkpoint: more than 100 signature lines")
	}
	h01, h04, signed := keyHash(origin, 1, pub), keyHash(origin, 4, pub), 0
	for _, line := range sigs {
		rest := strings.TrimPrefix(line, "— ")
		name, enc, found := strings.Cut(rest, " ")
		blob, ok := b64(enc)
		if rest == line || !found || strings.Contains(enc, " ") || !ok || len(blob) < 5 {
			bad("checkpoint: malformed signature line %q", line)
			continue
		}
		if name != origin {
			continue
		}
		switch binary.BigEndian.Uint32(blob[:4]) {
		case h01:
			if len(blob) != 68 || !ed25519.Verify(pub, []byte(text), blob[4:]) {
				bad("checkpoint: a signature line of the ledger key does not verify")
			}
			signed++
		case h04:
			if len(blob) != 76 {
				bad("checkpoint: malformed signed-time line")
				continue
			}
			t := int64(binary.BigEndian.Uint64(blob[4:12]))
			m := []byte(fmt.Sprintf("cosignature/v1\ntime %d\n", uint64(t)) + text)
			if t < 0 || cp.time >= 0 || !ed25519.Verify(pub, m, blob[12:]) {
				bad("checkpoint: the ledger key's signed time does not verify or is given twice")
				continue
			}
			cp.time = t
		}
	}
	if signed == 0 {
		bad("checkpoint: no signature line of the ledger key")
	}
	return cp
}
