// bundleverify checks a tilsyn evidence bundle (version 2) written from docs/evidence-bundle.md alone,
// in the order of its §6, with Go's own crypto/ed25519, golang.org/x/mod/sumdb/note (the checkpoint's
// type-0x01 signature) and golang.org/x/mod/sumdb/tlog (inclusion proofs). No code of tilsyn was read
// to write it: where it and `tilsyn verify-bundle` disagree, the doc is wrong or ambiguous.
//
// Usage: bundleverify FILE — prints "ok <stream>: <n> events, <k> key events, <r> rules events;
// checkpoint <N>, size <S>, time <T>" (T: POSIX seconds of the signed time, or the StreamHeads
// record's recorded_at) and exits 0; else prints every problem found and exits 1 (invalid) or 2
// (unreadable: not strict JSON, not a bundle, unknown version).
//
// bundleverify receipt FILE VKEY checks a receipt (receipt.go): prints "ok receipt <seq> <size> <root>".
package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode"
)

var problems []string

func bad(format string, args ...interface{}) { problems = append(problems, fmt.Sprintf(format, args...)) }

func unreadable(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "unreadable: "+format+"\n", args...)
	os.Exit(2)
}

// b64 decodes canonical base64 only (RFC 4648 §4: decode, re-encode, compare).
func b64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return b, err == nil && base64.StdEncoding.EncodeToString(b) == s
}

var (
	hex64     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hex16     = regexp.MustCompile(`^[0-9a-f]{16}$`)
	tsPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`)
	ledgerID  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	kindPat   = regexp.MustCompile(`^[a-z][a-z0-9_-]*/`)
	typePat   = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*\.[A-Z][A-Za-z0-9]*/[1-9][0-9]*$`)
)

// validStream: kind/id, the id 1–200 characters, none of them White_Space (§3).
func validStream(s string) bool {
	kind := kindPat.FindString(s)
	id := []rune(s[len(kind):])
	if kind == "" || len(id) < 1 || len(id) > 200 {
		return false
	}
	for _, r := range id {
		if unicode.Is(unicode.White_Space, r) {
			return false
		}
	}
	return true
}

func timestamp(s string) bool {
	if !tsPattern.MatchString(s) {
		return false
	}
	_, err := time.Parse("2006-01-02T15:04:05.000000Z", s)
	return err == nil
}

func keyID(pub []byte) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// field is one member a JSON object must have: its name, kind and (for strings) a check.
type field struct {
	name string
	kind kind
	ok   func(*value) bool
}

// exact checks that obj has exactly fields (any order), each of its kind.
func exact(obj *value, where string, fields ...field) bool {
	if obj == nil || obj.kind != kObject {
		bad("%s: not an object", where)
		return false
	}
	good := len(obj.members) == len(fields)
	for _, f := range fields {
		v := obj.get(f.name)
		switch {
		case v == nil:
			bad("%s: member %q missing", where, f.name)
			good = false
		case v.kind != f.kind:
			bad("%s: member %q has the wrong JSON type", where, f.name)
			good = false
		case f.ok != nil && !f.ok(v):
			bad("%s: member %q is malformed", where, f.name)
			good = false
		}
	}
	if len(obj.members) != len(fields) {
		bad("%s: unknown members among %v", where, obj.keys())
	}
	return good
}

func nonNegative(v *value) bool { return v.i >= 0 }
func isTimestamp(v *value) bool { return timestamp(v.s) }
func isHex64(v *value) bool     { return hex64.MatchString(v.s) }
func isB64(v *value) bool       { _, ok := b64(v.s); return ok }
func b64Array(v *value) bool {
	for _, e := range v.arr {
		if b, ok := b64(e.s); e.kind != kString || !ok || len(b) != 32 {
			return false
		}
	}
	return true
}

func hashes(v *value) [][32]byte {
	out := make([][32]byte, len(v.arr))
	for i, e := range v.arr {
		b, _ := b64(e.s)
		copy(out[i][:], b)
	}
	return out
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "receipt" {
		receiptMain(os.Args[2:])
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bundleverify FILE | bundleverify receipt FILE VKEY")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		unreadable("%v", err)
	}
	top, err := parseStrict(data)
	if err != nil {
		unreadable("not strict JSON: %v", err)
	}
	if top.kind != kObject {
		unreadable("not a JSON object")
	}
	if f := top.get("format"); f == nil || f.kind != kString || f.s != "tilsyn-evidence-bundle" {
		unreadable("format is not \"tilsyn-evidence-bundle\"")
	}
	if v := top.get("version"); v == nil || v.kind != kInt || v.i != 2 {
		unreadable("version is not the integer 2")
	}
	finish(check(top))
}

// finish prints every problem and exits 1, or prints the summary.
func finish(summary string) {
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Println("invalid:", p)
		}
		os.Exit(1)
	}
	fmt.Println(summary)
}

func check(top *value) string {
	// Step 1: the file's members and types.
	if !exact(top, "bundle",
		field{"format", kString, nil}, field{"version", kInt, nil},
		field{"origin", kString, func(v *value) bool { return validOrigin(v.s) }},
		field{"stream", kString, func(v *value) bool { return validStream(v.s) && v.s != "ledger/heads" }},
		field{"exported_at", kString, isTimestamp}, field{"checkpoint", kString, nil},
		field{"heads", kArray, nil}, field{"records", kArray, nil}) {
		return ""
	}
	origin, stream := top.get("origin").s, top.get("stream").s
	headFields := []field{{"stream", kString, nil}, {"version", kInt, nonNegative}, {"seq", kInt, nonNegative},
		{"leaf", kString, isHex64}, {"index", kInt, nonNegative}, {"proof", kArray, b64Array}}
	for i, h := range top.get("heads").arr {
		exact(h, fmt.Sprintf("heads[%d]", i), headFields...)
	}
	// Step 2: records, canonical bytes.
	var recs []*record
	bySeq := map[int64]*record{}
	for i, e := range top.get("records").arr {
		where := fmt.Sprintf("records[%d]", i)
		if !exact(e, where, field{"seq", kInt, nonNegative}, field{"record", kString, isB64},
			field{"proof", kArray, b64Array}) {
			continue
		}
		r := readRecord(e, where)
		if r == nil {
			continue
		}
		if len(recs) > 0 && r.seq <= recs[len(recs)-1].seq {
			bad("%s: seq %d is not above the previous record's", where, r.seq)
			continue
		}
		recs = append(recs, r)
		bySeq[r.seq] = r
	}
	if len(problems) > 0 {
		return ""
	}
	// Step 3: genesis.
	g := bySeq[1]
	if g == nil || g.typ != "ledger.Genesis/1" || g.stream != "ledger/keys" {
		bad("seq 1 is not a ledger.Genesis/1 event on ledger/keys")
		return ""
	}
	gp := g.payload
	logKey := gp.get("log_key")
	if !exact(gp, "genesis payload", field{"authority", kString, nil}, field{"key_id", kString, nil},
		field{"ledger_id", kString, nil}, field{"log_key", kObject, nil}, field{"origin", kString, nil},
		field{"public_key", kString, isB64}, field{"roles", kArray, nil}) ||
		!exact(logKey, "genesis log_key", field{"key_id", kString, nil}, field{"public_key", kString, isB64}) {
		return ""
	}
	if gp.get("origin").s != origin {
		bad("the genesis origin %q is not the bundle's %q", gp.get("origin").s, origin)
	}
	if gp.get("authority").s != g.actor {
		bad("the genesis authority is not its actor")
	}
	ledger := gp.get("ledger_id").s
	// Step 4: the checkpoint, under the log key valid at its size.
	cp := readCheckpoint(top.get("checkpoint").s, origin, func(size int64) []byte { return logKeyAt(recs, size) })
	if cp == nil {
		return ""
	}
	S, root := cp.size, cp.root
	// Step 5: inclusion.
	for _, r := range recs {
		if !included(r.leaf, r.seq-1, S, root, r.proof) {
			bad("seq %d: inclusion proof does not verify at size %d", r.seq, S)
		}
	}
	// Step 6: the last leaf.
	last := bySeq[S]
	if last == nil || last.typ != "ledger.StreamHeads/1" || last.stream != "ledger/heads" {
		bad("the record at the checkpoint's size %d is not its StreamHeads event", S)
		return ""
	}
	hp := last.payload
	if !exact(hp, "StreamHeads payload", field{"root", kString, isB64}, field{"size", kInt, nil},
		field{"streams", kInt, nonNegative}) {
		return ""
	}
	if hp.get("size").i != S-1 {
		bad("StreamHeads size %d is not %d", hp.get("size").i, S-1)
	}
	N := last.version
	// Steps 7 and 8: heads and completeness.
	full := map[string]bool{stream: true, "ledger/keys": true, "ledger/policy": true}
	checkHeads(top.get("heads").arr, full, hp, recs, S)
	// Steps 9 and 10: keys, rules, signatures; chain.
	fold(recs, ledger, S)
	chain(recs)
	events, keys, rules := 0, 0, 0
	for _, r := range recs {
		switch {
		case r.seq == S:
		case r.stream == stream:
			events++
		case r.stream == "ledger/keys":
			keys++
		case r.stream == "ledger/policy":
			rules++
		}
	}
	when := cp.time
	if when < 0 {
		t, _ := time.Parse("2006-01-02T15:04:05.000000Z", last.recordedAt)
		when = t.Unix()
	}
	return fmt.Sprintf("ok %s: %d events, %d key events, %d rules events; checkpoint %d, size %d, time %d",
		stream, events, keys, rules, N, S, when)
}

// chain is step 10.
func chain(recs []*record) {
	for i, r := range recs {
		if r.seq == 1 && r.prev != strings.Repeat("0", 64) {
			bad("seq 1: prev is not 64 zeros")
		}
		if i == 0 {
			continue
		}
		p := recs[i-1]
		if p.seq == r.seq-1 && r.prev != hex.EncodeToString(p.leaf[:]) {
			bad("seq %d: prev is not the leaf hash of seq %d", r.seq, p.seq)
		}
		if r.recordedAt < p.recordedAt {
			bad("seq %d: recorded_at goes backwards", r.seq)
		}
	}
}
