package wasmbin

import "bytes"

// Section ids (the binary format's, in their required order of
// appearance, which is not their numeric order).
const (
	SecCustom    = 0
	SecType      = 1
	SecImport    = 2
	SecFunction  = 3
	SecTable     = 4
	SecMemory    = 5
	SecGlobal    = 6
	SecExport    = 7
	SecStart     = 8
	SecElement   = 9
	SecCode      = 10
	SecData      = 11
	SecDataCount = 12
	SecTag       = 13
)

// order is each known section's rank in a module.
var order = map[byte]int{
	SecType: 1, SecImport: 2, SecFunction: 3, SecTable: 4, SecMemory: 5, SecTag: 6,
	SecGlobal: 7, SecExport: 8, SecStart: 9, SecElement: 10, SecDataCount: 11,
	SecCode: 12, SecData: 13,
}

var magic = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

// Section is one section: its id and its body as it appears in the module
// (for a custom section, including its name).
type Section struct {
	ID   byte
	Body []byte
	// size is the body's length as the module encoded it, which may be a
	// padded LEB128 (Go's linker pads): kept so that an unchanged module
	// is written back byte for byte.
	size []byte
}

// Module is a core module as its list of sections.
type Module struct {
	Sections []Section
}

// Parse splits a module into sections. It refuses a module that is not a
// core module (a component, a wrong version), a section that runs past
// the end, an unknown or repeated section id, or known sections out of order.
func Parse(b []byte) (*Module, error) {
	if !bytes.HasPrefix(b, magic) {
		return nil, malformed("not a core wasm module (magic and version 1)")
	}
	r := &reader{b: b, off: len(magic)}
	m := &Module{}
	last := 0
	for !r.done() {
		id := r.byte()
		at := r.off
		n := r.u32()
		size := r.b[at:r.off]
		body := r.bytes(uint64(n))
		if r.err != nil {
			return nil, r.err
		}
		if id != SecCustom {
			rank, ok := order[id]
			if !ok {
				return nil, malformed("unknown section id %d", id)
			}
			if rank <= last {
				return nil, malformed("section %d out of order or repeated", id)
			}
			last = rank
		} else {
			cr := &reader{b: body}
			cr.name()
			if cr.err != nil {
				return nil, malformed("custom section name: %v", cr.err)
			}
		}
		m.Sections = append(m.Sections, Section{ID: id, Body: body, size: size})
	}
	return m, nil
}

// Bytes encodes the module.
func (m *Module) Bytes() []byte {
	n := len(magic)
	for _, s := range m.Sections {
		n += 6 + len(s.Body)
	}
	b := make([]byte, 0, n)
	b = append(b, magic...)
	for _, s := range m.Sections {
		b = append(b, s.ID)
		if s.size != nil {
			b = append(b, s.size...)
		} else {
			b = appendULEB(b, uint64(len(s.Body)))
		}
		b = append(b, s.Body...)
	}
	return b
}

// Section returns the body of the known section id, or nil.
func (m *Module) Section(id byte) []byte {
	for _, s := range m.Sections {
		if s.ID == id {
			return s.Body
		}
	}
	return nil
}

// SetSection replaces the body of the known section id, inserting the
// section where the format wants it if the module has none.
func (m *Module) SetSection(id byte, body []byte) {
	at := len(m.Sections)
	for i, s := range m.Sections {
		if s.ID == id {
			m.Sections[i] = Section{ID: id, Body: body}
			return
		}
		if s.ID != SecCustom && order[s.ID] > order[id] && at == len(m.Sections) {
			at = i
		}
	}
	m.Sections = append(m.Sections, Section{})
	copy(m.Sections[at+1:], m.Sections[at:])
	m.Sections[at] = Section{ID: id, Body: body}
}

// RemoveSection drops the known section id, if present.
func (m *Module) RemoveSection(id byte) {
	out := m.Sections[:0]
	for _, s := range m.Sections {
		if s.ID != id {
			out = append(out, s)
		}
	}
	m.Sections = out
}
