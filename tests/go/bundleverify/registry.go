package main

// Keys, rules, signatures (§3, §6 step 9): the key registry and the rules in force, folded in seq order.

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// writerRoles may sign a RulesInForce event, whatever the rules say (§3).
var writerRoles = []string{"admin", "tilbudsleder", "tilsynskonsulent", "tilsynsleder"}

// kernelStreams: the stream each kernel event type must be on (§3).
var kernelStreams = map[string]string{
	"ledger.Genesis/1": "ledger/keys", "ledger.KeyRegistered/1": "ledger/keys", "ledger.RoleGranted/1": "ledger/keys",
	"ledger.KeyRevoked/1": "ledger/keys", "ledger.KeyRotated/1": "ledger/keys", "ledger.LedgerKeyRotated/1": "ledger/keys",
	"ledger.RulesInForce/1": "ledger/policy", "ledger.StreamHeads/1": "ledger/heads",
}

var knownRoles = map[string]bool{"admin": true, "tilbudsleder": true, "tilsynskonsulent": true, "tilsynsleder": true}

type key struct {
	pub     []byte
	owner   string
	roles   map[string]bool            // held authority-wide
	scopes  map[string]map[string]bool // role → the tilbud it is limited to
	revoked bool
}

// about is the tilbud a statement is about (§6 step 9.3): its stream's tilbud/<id>, its payload's tilbud.
func about(r *record) map[string]bool {
	out := map[string]bool{}
	if id := strings.TrimPrefix(r.stream, "tilbud/"); id != r.stream {
		out[id] = true
	}
	if t := r.payload.get("tilbud"); t != nil && t.kind == kString {
		out[t.s] = true
	}
	return out
}

// holdsFor: the key holds one of need for this statement (a limited role counts only for its tilbud);
// anyScope counts a limited role whatever the statement is about (KeyRotated).
func holdsFor(k *key, need []string, r *record, anyScope bool) bool {
	tilbud := about(r)
	for _, role := range need {
		if k.roles[role] {
			return true
		}
		scope := k.scopes[role]
		if scope == nil {
			continue
		}
		inside := anyScope || len(tilbud) > 0
		for t := range tilbud {
			inside = inside && scope[t]
		}
		if inside {
			return true
		}
	}
	return false
}

// members: v has the required members and perhaps some of optional, nothing else.
func members(v *value, required, optional []string) bool {
	if v == nil || v.kind != kObject {
		return false
	}
	n := 0
	for _, name := range required {
		if v.get(name) == nil {
			return false
		}
		n++
	}
	for _, name := range optional {
		if v.get(name) != nil {
			n++
		}
	}
	return n == len(v.members)
}

// validName: a person's name as registered (NFC, no surrounding White_Space, one script besides
// Common). Confusability with other names is NOT checked here: the doc gives no rule a foreign
// verifier can implement (it names ledger/names.py).
func validName(name string) bool {
	if name == "" || !norm.NFC.IsNormalString(name) || strings.TrimFunc(name, isWhiteSpace) != name {
		return false
	}
	scripts := map[string]bool{}
	for _, r := range name {
		for script, table := range unicode.Scripts {
			if script != "Common" && unicode.Is(table, r) {
				scripts[script] = true
			}
		}
	}
	return len(scripts) <= 1
}

func isWhiteSpace(r rune) bool { return unicode.Is(unicode.White_Space, r) }

// newKey reads the new key of a KeyRegistered or KeyRotated payload and checks its proof of possession.
func newKey(p *value, ledger, name string, keys map[string]*key) []byte {
	pub, proof := pubKey(p.get("public_key")), p.get("proof")
	var x25519 *value
	if x := p.get("x25519_public_key"); x != nil {
		if pubKey(x) == nil {
			return nil
		}
		x25519 = x
	}
	if pub == nil || proof == nil || proof.kind != kString || keyID(pub) != p.get("key_id").s || keys[keyID(pub)] != nil {
		return nil
	}
	sig, ok := b64(proof.s)
	if !ok || !ed25519.Verify(pub, possession(ledger, name, p.get("public_key").s, x25519), sig) {
		return nil
	}
	return pub
}

func activeKey(keys map[string]*key, name string) *key {
	for _, k := range keys {
		if k.owner == name && !k.revoked {
			return k
		}
	}
	return nil
}

func lastAdmin(keys map[string]*key, k *key) bool {
	for _, other := range keys {
		if other != k && !other.revoked && other.roles["admin"] {
			return false
		}
	}
	return true
}

// logKeyAt is the ledger key of a checkpoint of size S (§5): the genesis log key, replaced by each
// LedgerKeyRotated event before S. Whether those events are valid is step 9's business.
func logKeyAt(recs []*record, S int64) []byte {
	var pub []byte
	for _, r := range recs {
		if r.seq >= S {
			break
		}
		var k *value
		switch r.typ {
		case "ledger.Genesis/1":
			k = r.payload.get("log_key")
			if k != nil {
				k = k.get("public_key")
			}
		case "ledger.LedgerKeyRotated/1":
			k = r.payload.get("public_key")
		}
		if k != nil && k.kind == kString {
			if b, ok := b64(k.s); ok && len(b) == 32 {
				pub = b
			}
		}
	}
	return pub
}

// strings of a JSON array of strings: sorted, without repeats, non-empty (else nil).
func roleList(v *value) []string {
	if v == nil || v.kind != kArray || len(v.arr) == 0 {
		return nil
	}
	var out []string
	for _, e := range v.arr {
		if e.kind != kString || (len(out) > 0 && e.s <= out[len(out)-1]) {
			return nil
		}
		out = append(out, e.s)
	}
	return out
}

func pubKey(v *value) []byte {
	if v == nil || v.kind != kString {
		return nil
	}
	b, ok := b64(v.s)
	if !ok || len(b) != 32 {
		return nil
	}
	return b
}

func possession(ledger, name, pub string, x25519 *value) []byte {
	obj := &value{kind: kObject, members: []member{
		{"ledger", &value{kind: kString, s: ledger}}, {"name", &value{kind: kString, s: name}},
		{"public_key", &value{kind: kString, s: pub}}}}
	if x25519 != nil {
		obj.members = append(obj.members, member{"x25519_public_key", x25519})
	}
	var buf bytes.Buffer
	buf.WriteString("tilsyn-key-possession/1\n")
	canonical(&buf, obj, false)
	return buf.Bytes()
}

func fold(recs []*record, ledger string, S int64) {
	keys := map[string]*key{}
	var rules map[string][]string // event type → roles; nil until the first RulesInForce
	logID := ""
	for _, r := range recs {
		p := r.payload
		if r.ledger != ledger {
			bad("seq %d: signed for ledger %q, not this ledger %q", r.seq, r.ledger, ledger)
		}
		if want, kernel := kernelStreams[r.typ]; kernel && r.stream != want {
			bad("seq %d: %s on stream %s, not %s", r.seq, r.typ, r.stream, want)
			continue
		}
		var need []string
		switch {
		case r.seq == 1:
			pub, lk := pubKey(p.get("public_key")), p.get("log_key")
			lpub := pubKey(lk.get("public_key"))
			roles := roleList(p.get("roles"))
			if pub == nil || lpub == nil || keyID(pub) != p.get("key_id").s || keyID(pub) != r.keyID ||
				keyID(lpub) != lk.get("key_id").s || bytes.Equal(pub, lpub) || roles == nil {
				bad("seq 1: the genesis keys are malformed")
				return
			}
			if p.get("ledger_id").s != r.ledger {
				bad("seq 1: statement ledger is not the payload's ledger_id")
			}
			keys[r.keyID] = &key{pub: pub, owner: r.actor, roles: set(roles), scopes: map[string]map[string]bool{}}
			need = []string{"admin"}
		case r.typ == "ledger.RulesInForce/1":
			need = writerRoles
		case rules == nil:
			bad("seq %d: no rules in force yet", r.seq)
			continue
		default:
			var listed bool
			need, listed = rules[r.typ]
			if !listed || len(need) == 0 {
				bad("seq %d: nobody may sign %s under the rules in force", r.seq, r.typ)
				continue
			}
		}
		k := keys[r.keyID]
		switch {
		case k == nil:
			bad("seq %d: key %s is not registered", r.seq, r.keyID)
		case k.owner != r.actor:
			bad("seq %d: key %s is %s's, not %s's", r.seq, r.keyID, k.owner, r.actor)
		case k.revoked:
			bad("seq %d: key %s is revoked", r.seq, r.keyID)
		case !holdsFor(k, need, r, r.typ == "ledger.KeyRotated/1"):
			bad("seq %d: %s holds none of the roles %v for %s", r.seq, r.actor, need, r.typ)
		case !ed25519.Verify(k.pub, r.statement, r.signature):
			bad("seq %d: the signature does not verify", r.seq)
		}
		// Then the event takes effect.
		switch r.typ {
		case "ledger.Genesis/1":
			if r.seq != 1 {
				bad("seq %d: a second genesis", r.seq)
				continue
			}
			lk := p.get("log_key")
			logID = lk.get("key_id").s
			keys[logID] = &key{pub: pubKey(lk.get("public_key")), owner: "ledger", roles: set([]string{"ledger"})}
		case "ledger.KeyRegistered/1":
			name, roles, tilbud := p.get("name"), roleList(p.get("roles")), p.get("tilbud")
			if !members(p, []string{"key_id", "name", "proof", "public_key", "roles"}, []string{"tilbud", "x25519_public_key"}) ||
				name.kind != kString || name.s == "ledger" || !validName(name.s) || activeKey(keys, name.s) != nil ||
				roles == nil || !personRoles(roles) || (tilbud != nil && (roleList(tilbud) == nil || set(roles)["admin"])) {
				bad("seq %d: KeyRegistered is malformed or its name is taken or not a valid name", r.seq)
				continue
			}
			pub := newKey(p, ledger, name.s, keys)
			if pub == nil {
				bad("seq %d: KeyRegistered: a known key, or its proof of possession does not verify", r.seq)
				continue
			}
			k := &key{pub: pub, owner: name.s, roles: set(roles), scopes: map[string]map[string]bool{}}
			if tilbud != nil {
				k.roles = map[string]bool{}
				for _, role := range roles {
					k.scopes[role] = set(roleList(tilbud))
				}
			}
			keys[keyID(pub)] = k
		case "ledger.RoleGranted/1":
			k, roles, tilbud := known(keys, p), roleList(p.get("roles")), p.get("tilbud")
			if !members(p, []string{"key_id", "name", "roles"}, []string{"tilbud"}) || k == nil || k.owner == "ledger" ||
				roles == nil || !personRoles(roles) || (tilbud != nil && (roleList(tilbud) == nil || set(roles)["admin"])) {
				bad("seq %d: RoleGranted is malformed or names no known key of its name", r.seq)
				continue
			}
			for _, role := range roles {
				switch {
				case tilbud == nil:
					k.roles[role] = true
					delete(k.scopes, role)
				case k.roles[role]:
					bad("seq %d: RoleGranted limits %s, which the key holds authority-wide", r.seq, role)
				default:
					if k.scopes[role] == nil {
						k.scopes[role] = map[string]bool{}
					}
					for _, t := range roleList(tilbud) {
						k.scopes[role][t] = true
					}
				}
			}
		case "ledger.KeyRotated/1":
			old := keys[r.keyID]
			name := p.get("name")
			if !members(p, []string{"key_id", "name", "previous_key_id", "proof", "public_key"}, []string{"x25519_public_key"}) ||
				old == nil || old.revoked || old.owner == "ledger" || name.kind != kString || name.s != old.owner ||
				r.actor != old.owner || p.get("previous_key_id").s != r.keyID {
				bad("seq %d: KeyRotated is not signed by the unrevoked previous key of its name", r.seq)
				continue
			}
			pub := newKey(p, ledger, name.s, keys)
			if pub == nil {
				bad("seq %d: KeyRotated: a known key, or its proof of possession does not verify", r.seq)
				continue
			}
			old.revoked = true
			keys[keyID(pub)] = &key{pub: pub, owner: old.owner, roles: old.roles, scopes: old.scopes}
		case "ledger.KeyRevoked/1":
			k := known(keys, p)
			if !exactMembers(p, "key_id", "name", "reason") || k == nil || k.revoked || k.owner == "ledger" ||
				(k.roles["admin"] && lastAdmin(keys, k)) {
				bad("seq %d: KeyRevoked names no known unrevoked person's key, or the last admin's", r.seq)
				continue
			}
			k.revoked = true
		case "ledger.LedgerKeyRotated/1":
			pub := pubKey(p.get("public_key"))
			proof, ok := []byte(nil), false
			if v := p.get("proof"); v != nil && v.kind == kString {
				proof, ok = b64(v.s)
			}
			if !exactMembers(p, "key_id", "previous_key_id", "proof", "public_key") || pub == nil || !ok ||
				r.keyID != logID || p.get("previous_key_id").s != logID || keyID(pub) != p.get("key_id").s ||
				keys[keyID(pub)] != nil ||
				!ed25519.Verify(pub, possession(ledger, "ledger", p.get("public_key").s, nil), proof) {
				bad("seq %d: LedgerKeyRotated is not a valid hand-over from the current log key", r.seq)
				continue
			}
			keys[logID].revoked = true
			logID = keyID(pub)
			keys[logID] = &key{pub: pub, owner: "ledger", roles: set([]string{"ledger"})}
		case "ledger.RulesInForce/1":
			next, ok := readRules(p)
			if !ok {
				bad("seq %d: RulesInForce payload is malformed", r.seq)
				continue
			}
			rules = next
		}
	}
}

func readRules(p *value) (map[string][]string, bool) {
	if !exactMembers(p, "plugins", "standards", "types") {
		return nil, false
	}
	types := p.get("types")
	if types.kind != kObject || p.get("plugins").kind != kObject || p.get("standards").kind != kObject {
		return nil, false
	}
	for _, m := range append(p.get("plugins").members, p.get("standards").members...) {
		if m.val.kind != kString {
			return nil, false
		}
	}
	out := map[string][]string{}
	for _, m := range types.members {
		if !exactMembers(m.val, "owner", "roles") || m.val.get("owner").kind != kString {
			return nil, false
		}
		roles := m.val.get("roles")
		list := roleList(roles)
		if list == nil && !(roles.kind == kArray && len(roles.arr) == 0) {
			return nil, false
		}
		if fixed, kernel := kernelRoles[m.key]; kernel && strings.Join(list, ",") != fixed {
			return nil, false // the kernel's own types keep the roles the format gives them (§3)
		}
		out[m.key] = list
	}
	return out, true
}

// kernelRoles: who may sign the kernel's own types, fixed by the format (§3), sorted and comma-joined.
var kernelRoles = map[string]string{
	"ledger.Genesis/1": "admin", "ledger.KeyRegistered/1": "admin", "ledger.RoleGranted/1": "admin",
	"ledger.KeyRevoked/1": "admin", "ledger.KeyRotated/1": "admin,tilbudsleder,tilsynskonsulent,tilsynsleder",
	"ledger.LedgerKeyRotated/1": "ledger", "ledger.StreamHeads/1": "ledger", "ledger.SubjectErased/1": "admin,tilsynsleder",
	"ledger.RulesInForce/1": "admin,tilbudsleder,tilsynskonsulent,tilsynsleder",
}

func exactMembers(v *value, names ...string) bool {
	if v == nil || v.kind != kObject || len(v.members) != len(names) {
		return false
	}
	for _, n := range names {
		if v.get(n) == nil {
			return false
		}
	}
	return true
}

func known(keys map[string]*key, p *value) *key {
	id, name := p.get("key_id"), p.get("name")
	if id == nil || name == nil || id.kind != kString || name.kind != kString {
		return nil
	}
	k := keys[id.s]
	if k == nil || k.owner != name.s {
		return nil
	}
	return k
}

func personRoles(roles []string) bool {
	for _, r := range roles {
		if !knownRoles[r] {
			return false
		}
	}
	return true
}

func set(list []string) map[string]bool {
	out := map[string]bool{}
	for _, s := range list {
		out[s] = true
	}
	return out
}
