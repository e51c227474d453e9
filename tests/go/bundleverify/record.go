package main

// Record and statement bytes (§2, §3), the tree and the heads map (§4), completeness (§6 steps 7–8).

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/mod/sumdb/tlog"
)

type record struct {
	seq        int64
	raw        []byte
	leaf       tlog.Hash
	proof      [][32]byte
	recordedAt string
	prev       string
	statement  []byte
	signature  []byte
	stream     string
	version    int64
	typ        string
	actor      string
	keyID      string
	ledger     string
	payload    *value
}

var (
	recordOrder    = []string{"seq", "recorded_at", "prev", "statement", "signature"}
	statementOrder = []string{"stream", "stream_version", "type", "occurred_at", "actor", "key_id", "ledger", "payload"}
)

// validActor: 1–100 characters, no line break or tab, not starting with White_Space or '/' (§3).
func validActor(s string) bool {
	rs := []rune(s)
	if len(rs) < 1 || len(rs) > 100 || unicode.Is(unicode.White_Space, rs[0]) || rs[0] == '/' {
		return false
	}
	for _, r := range rs {
		if strings.ContainsRune("\t\n\v\f\r\u0085\u2028\u2029", r) {
			return false
		}
	}
	return true
}

func readRecord(e *value, where string) *record {
	raw, _ := b64(e.get("record").s)
	r := &record{seq: e.get("seq").i, raw: raw, leaf: tlog.RecordHash(raw), proof: hashes(e.get("proof"))}
	rv, err := parseCanonical(raw, recordOrder)
	if err != nil {
		bad("%s: record bytes: %v", where, err)
		return nil
	}
	if !exact(rv, where+" record", field{"seq", kInt, func(v *value) bool { return v.i >= 1 }},
		field{"recorded_at", kString, isTimestamp}, field{"prev", kString, isHex64},
		field{"statement", kString, isB64},
		field{"signature", kString, func(v *value) bool { b, ok := b64(v.s); return ok && len(b) == 64 }}) {
		return nil
	}
	if rv.get("seq").i != r.seq {
		bad("%s: the record's own seq %d is not the element's %d", where, rv.get("seq").i, r.seq)
		return nil
	}
	r.recordedAt, r.prev = rv.get("recorded_at").s, rv.get("prev").s
	r.statement, _ = b64(rv.get("statement").s)
	r.signature, _ = b64(rv.get("signature").s)
	sv, err := parseCanonical(r.statement, statementOrder)
	if err != nil {
		bad("seq %d: statement bytes: %v", r.seq, err)
		return nil
	}
	if !exact(sv, fmt.Sprintf("seq %d statement", r.seq),
		field{"stream", kString, func(v *value) bool { return validStream(v.s) }},
		field{"stream_version", kInt, func(v *value) bool { return v.i >= 1 }},
		field{"type", kString, func(v *value) bool { return typePat.MatchString(v.s) }},
		field{"occurred_at", kString, isTimestamp},
		field{"actor", kString, func(v *value) bool { return validActor(v.s) }},
		field{"key_id", kString, func(v *value) bool { return hex16.MatchString(v.s) }},
		field{"ledger", kString, func(v *value) bool { return ledgerID.MatchString(v.s) }},
		field{"payload", kObject, nil}) {
		return nil
	}
	r.stream, r.version, r.typ = sv.get("stream").s, sv.get("stream_version").i, sv.get("type").s
	r.actor, r.keyID, r.ledger, r.payload = sv.get("actor").s, sv.get("key_id").s, sv.get("ledger").s, sv.get("payload")
	return r
}

// included verifies an RFC 9162 inclusion proof with Go's tlog (same hashing as RFC 6962).
func included(leaf tlog.Hash, index, size int64, root tlog.Hash, proof [][32]byte) bool {
	if index < 0 || index >= size {
		return false
	}
	p := make(tlog.RecordProof, len(proof))
	for i, h := range proof {
		p[i] = h
	}
	return tlog.CheckRecord(p, size, root, index, leaf) == nil
}

// checkHeads is steps 7 and 8: the heads entries against the StreamHeads payload, and every stream
// held in full complete up to its entry.
func checkHeads(heads []*value, full map[string]bool, hp *value, recs []*record, S int64) {
	rootBytes, _ := b64(hp.get("root").s)
	if len(rootBytes) != 32 {
		bad("StreamHeads root is not 32 bytes")
		return
	}
	var mapRoot tlog.Hash
	copy(mapRoot[:], rootBytes)
	streams := hp.get("streams").i
	seen := map[string]*value{}
	for _, h := range heads {
		name := h.get("stream").s
		if !full[name] || seen[name] != nil {
			bad("heads: %q is not one of %v or is repeated", name, sortedKeys(full))
			continue
		}
		seen[name] = h
		entry := fmt.Sprintf("%s\n%d\n%d\n%s\n", name, h.get("version").i, h.get("seq").i, h.get("leaf").s)
		if !included(tlog.RecordHash([]byte(entry)), h.get("index").i, streams, mapRoot, hashes(h.get("proof"))) {
			bad("heads: the entry of %s does not verify in the heads map", name)
		}
	}
	for name := range full {
		h := seen[name]
		if h == nil {
			bad("heads: no entry for %s", name)
			continue
		}
		var mine []*record
		for _, r := range recs {
			if r.stream == name && r.seq < S {
				mine = append(mine, r)
			}
		}
		for i, r := range mine {
			if r.version != int64(i+1) {
				bad("%s: seq %d has stream_version %d, expected %d (an event is missing)", name, r.seq, r.version, i+1)
				break
			}
		}
		if len(mine) == 0 {
			bad("%s: no records", name)
			continue
		}
		l := mine[len(mine)-1]
		if l.version != h.get("version").i || l.seq != h.get("seq").i || hex.EncodeToString(l.leaf[:]) != h.get("leaf").s {
			bad("%s: its last record (seq %d) is not its heads entry: events are missing", name, l.seq)
		}
	}
	for _, r := range recs {
		if !full[r.stream] && r.seq != S {
			bad("seq %d: a record of %s, which the bundle does not hold in full", r.seq, r.stream)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sha(parts ...[]byte) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
