package main

// Keys, rules, signatures (§3, §6 step 9): the key registry and the rules in force, folded in seq order.

import (
	"bytes"
	"crypto/ed25519"
)

// writerRoles may sign a RulesInForce event, whatever the rules say (§3).
var writerRoles = []string{"admin", "tilbudsleder", "tilsynskonsulent", "tilsynsleder"}

// kernelStreams: the stream each kernel event type must be on (§3).
var kernelStreams = map[string]string{
	"ledger.Genesis/1": "ledger/keys", "ledger.KeyRegistered/1": "ledger/keys", "ledger.RoleGranted/1": "ledger/keys",
	"ledger.KeyRevoked/1": "ledger/keys", "ledger.LedgerKeyRotated/1": "ledger/keys",
	"ledger.RulesInForce/1": "ledger/policy", "ledger.StreamHeads/1": "ledger/heads",
}

var knownRoles = map[string]bool{"admin": true, "tilbudsleder": true, "tilsynskonsulent": true, "tilsynsleder": true}

type key struct {
	pub     []byte
	owner   string
	roles   map[string]bool
	revoked bool
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

func possession(ledger, name, pub string) []byte {
	obj := &value{kind: kObject, members: []member{
		{"ledger", &value{kind: kString, s: ledger}}, {"name", &value{kind: kString, s: name}},
		{"public_key", &value{kind: kString, s: pub}}}}
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
			keys[r.keyID] = &key{pub: pub, owner: r.actor, roles: set(roles)}
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
		case !holdsOne(k, need):
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
			pub, roles := pubKey(p.get("public_key")), roleList(p.get("roles"))
			if !exactMembers(p, "key_id", "name", "public_key", "roles") || pub == nil || roles == nil ||
				keyID(pub) != p.get("key_id").s || keys[keyID(pub)] != nil || !personRoles(roles) || p.get("name").kind != kString || p.get("name").s == "ledger" {
				bad("seq %d: KeyRegistered is malformed or registers a known key", r.seq)
				continue
			}
			keys[keyID(pub)] = &key{pub: pub, owner: p.get("name").s, roles: set(roles)}
		case "ledger.RoleGranted/1":
			k, roles := known(keys, p), roleList(p.get("roles"))
			if !exactMembers(p, "key_id", "name", "roles") || k == nil || k.owner == "ledger" || roles == nil || !personRoles(roles) {
				bad("seq %d: RoleGranted is malformed or names no known key of its name", r.seq)
				continue
			}
			for _, role := range roles {
				k.roles[role] = true
			}
		case "ledger.KeyRevoked/1":
			k := known(keys, p)
			if !exactMembers(p, "key_id", "name", "reason") || k == nil || k.revoked || k.owner == "ledger" {
				bad("seq %d: KeyRevoked names no known unrevoked person's key", r.seq)
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
				!ed25519.Verify(pub, possession(ledger, "ledger", p.get("public_key").s), proof) {
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
		out[m.key] = list
	}
	return out, true
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

func holdsOne(k *key, need []string) bool {
	for _, r := range need {
		if k.roles[r] {
			return true
		}
	}
	return false
}

func set(list []string) map[string]bool {
	out := map[string]bool{}
	for _, s := range list {
		out[s] = true
	}
	return out
}
