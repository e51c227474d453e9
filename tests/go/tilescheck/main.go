// tilescheck reads a C2SP tlog-tiles publication with Go's golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog (Debian's golang-golang-x-mod-dev, GO111MODULE=off): it verifies the
// checkpoint with the log's verifier key, recomputes the tree hash from the tiles (TileHashReader checks
// every tile it reads against the tree), and proves every entry of the entry bundles into that root.
//
// Usage: tilescheck DIR VKEY   — prints "ok <size> <base64 root> <entries>" or exits 1.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return 8 }

// Go names tiles tile/<H>/<L>/<N>; C2SP tlog-tiles drops the height: tile/<L>/<N>.
func (d dirTiles) path(t tlog.Tile) string {
	return filepath.Join(d.dir, strings.Replace(t.Path(), "tile/8/", "tile/", 1))
}

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := os.ReadFile(d.path(t))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (d dirTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tilescheck: "+format+"\n", args...)
	os.Exit(1)
}

func entriesPath(n int64, width int) string {
	var groups []string
	for {
		groups = append([]string{fmt.Sprintf("%03d", n%1000)}, groups...)
		n /= 1000
		if n == 0 {
			break
		}
	}
	for i := 0; i < len(groups)-1; i++ {
		groups[i] = "x" + groups[i]
	}
	p := "tile/entries/" + strings.Join(groups, "/")
	if width != 256 {
		p += ".p/" + strconv.Itoa(width)
	}
	return p
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: tilescheck DIR VKEY")
	}
	dir, vkey := os.Args[1], os.Args[2]
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint text too short")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != 32 {
		fail("root hash")
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	tree := tlog.Tree{N: size, Hash: root}
	thr := tlog.TileHashReader(tree, dirTiles{dir})
	got, err := tlog.TreeHash(size, thr)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if got != root {
		fail("tiles give root %v, checkpoint says %v", got, root)
	}
	var index int64
	for b := int64(0); b*256 < size; b++ {
		width := 256
		if (b+1)*256 > size {
			width = int(size - b*256)
		}
		data, err := os.ReadFile(filepath.Join(dir, entriesPath(b, width)))
		if err != nil {
			fail("entry bundle %d: %v", b, err)
		}
		for len(data) > 0 {
			if len(data) < 2 {
				fail("truncated entry bundle %d", b)
			}
			l := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+l {
				fail("truncated entry in bundle %d", b)
			}
			entry := data[2 : 2+l]
			data = data[2+l:]
			proof, err := tlog.ProveRecord(size, index, thr)
			if err != nil {
				fail("prove %d: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(entry)); err != nil {
				fail("entry %d: %v", index, err)
			}
			index++
		}
	}
	if index != size {
		fail("entry bundles hold %d entries, the checkpoint %d", index, size)
	}
	fmt.Printf("ok %d %s %d\n", size, lines[2], index)
}
