package main

// Receipts (docs/witnessing.md): a C2SP tlog-proof whose extra is the record bytes, checked against the
// log's verifier key with the same note rules as a bundle's checkpoint (§5 of evidence-bundle.md).

import (
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// checkReceipt returns "ok receipt <seq> <size> <base64 root>"; problems go to bad(), a malformed file
// to unreadable().
func checkReceipt(data []byte, vkey string) string {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		unreadable("verifier key: %v", err)
	}
	parts := strings.SplitN(vkey, "+", 3)
	pub, ok := b64(parts[2])
	if !ok || len(pub) != 33 || pub[0] != 1 {
		unreadable("not an Ed25519 verifier key")
	}
	head, checkpoint, found := strings.Cut(string(data), "\n\n")
	lines := strings.Split(head, "\n")
	if !found || len(lines) < 2 || lines[0] != "c2sp.org/tlog-proof@v1" {
		unreadable("not a c2sp.org/tlog-proof@v1")
	}
	var extra []byte
	if strings.HasPrefix(lines[1], "extra ") {
		if extra, ok = b64(strings.TrimPrefix(lines[1], "extra ")); !ok {
			unreadable("extra is not canonical base64")
		}
		lines = lines[1:]
	}
	indexText := strings.TrimPrefix(lines[1], "index ")
	index, err := strconv.ParseInt(indexText, 10, 64)
	if indexText == lines[1] || !sizePat.MatchString(indexText) || err != nil {
		unreadable("no 'index N' line")
	}
	var proof [][32]byte
	for _, l := range lines[2:] {
		h, ok := b64(l)
		if !ok || len(h) != 32 {
			unreadable("a proof line is not a base64 hash")
		}
		proof = append(proof, *(*[32]byte)(h))
	}
	cp := readCheckpoint(checkpoint, verifier.Name(), func(int64) []byte { return pub[1:] })
	if cp == nil {
		return ""
	}
	if extra == nil {
		bad("no extra line: the receipt does not carry the record")
		return ""
	}
	if !included(tlog.RecordHash(extra), index, cp.size, cp.root, proof) {
		bad("the inclusion proof does not verify at index %d, size %d", index, cp.size)
	}
	rec, err := parseCanonical(extra, recordOrder)
	if err != nil || rec.get("seq").kind != kInt || rec.get("seq").i != index+1 {
		bad("extra is not canonical record bytes whose seq is index + 1")
		return ""
	}
	return fmt.Sprintf("ok receipt %d %d %s", index+1, cp.size, base64.StdEncoding.EncodeToString(cp.root[:]))
}

func receiptMain(args []string) {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bundleverify receipt FILE VKEY")
		os.Exit(2)
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		unreadable("%v", err)
	}
	finish(checkReceipt(data, args[1]))
}
