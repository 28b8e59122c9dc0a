package wasmbin

import "fmt"

// Value types the snapshot handles as numbers.
const (
	I32  byte = 0x7f
	I64  byte = 0x7e
	F32  byte = 0x7d
	F64  byte = 0x7c
	V128 byte = 0x7b
)

// External kinds, in imports and exports.
const (
	KindFunc   byte = 0
	KindTable  byte = 1
	KindMemory byte = 2
	KindGlobal byte = 3
	KindTag    byte = 4
)

// ValType is a value type's encoding: one byte for numbers, vectors and
// the abbreviated reference types, more for (ref null? ht).
type ValType string

func (r *reader) valType() ValType {
	start := r.off
	if c := r.byte(); c == 0x63 || c == 0x64 { // (ref null ht), (ref ht)
		r.sleb(33)
	}
	if r.err != nil {
		return ""
	}
	return ValType(r.b[start:r.off])
}

// Limits are a memory's or table's bounds.
type Limits struct {
	Flags    byte // bit 0: has max; bit 1: shared; bit 2: 64-bit; bit 3: custom page size
	Min, Max uint64
	PageLog2 uint32 // with bit 3
}

func (r *reader) limits() Limits {
	l := Limits{Flags: r.byte()}
	if l.Flags > 0x0f {
		r.fail("limits flags %#x", l.Flags)
		return l
	}
	bits := uint(32)
	if l.Flags&4 != 0 {
		bits = 64
	}
	l.Min = r.uleb(bits)
	if l.Flags&1 != 0 {
		l.Max = r.uleb(bits)
	}
	if l.Flags&8 != 0 {
		l.PageLog2 = r.u32()
	}
	return l
}

func appendLimits(b []byte, l Limits) []byte {
	b = append(b, l.Flags)
	b = appendULEB(b, l.Min)
	if l.Flags&1 != 0 {
		b = appendULEB(b, l.Max)
	}
	if l.Flags&8 != 0 {
		b = appendULEB(b, uint64(l.PageLog2))
	}
	return b
}

// Import is one import. Desc holds the encoded description after the kind
// byte (a type index, a table or memory type, a global type).
type Import struct {
	Module, Name string
	Kind         byte
	Desc         []byte
}

// Imports decodes an import section body.
func Imports(body []byte) ([]Import, error) {
	if len(body) == 0 {
		return nil, nil
	}
	r := &reader{b: body}
	out := make([]Import, 0, r.count(4))
	for i := cap(out); i > 0 && r.err == nil; i-- {
		im := Import{Module: r.name(), Name: r.name(), Kind: r.byte()}
		start := r.off
		switch im.Kind {
		case KindFunc:
			r.u32()
		case KindTable:
			r.valType()
			r.limits()
		case KindMemory:
			r.limits()
		case KindGlobal:
			r.valType()
			r.byte()
		case KindTag:
			r.byte()
			r.u32()
		default:
			r.fail("import kind %d", im.Kind)
		}
		im.Desc = r.b[start:r.off]
		out = append(out, im)
	}
	return out, r.end("import")
}

// end reports a decode error or bytes left over after a section's items.
func (r *reader) end(what string) error {
	if r.err == nil && r.off != len(r.b) {
		r.fail("%d bytes after the %s section's items", len(r.b)-r.off, what)
	}
	if r.err != nil {
		return fmt.Errorf("%s section: %w", what, r.err)
	}
	return nil
}

// EncodeImports encodes an import section body.
func EncodeImports(ims []Import) []byte {
	b := appendULEB(nil, uint64(len(ims)))
	for _, im := range ims {
		b = appendName(b, im.Module)
		b = appendName(b, im.Name)
		b = append(b, im.Kind)
		b = append(b, im.Desc...)
	}
	return b
}

// Memories decodes a memory section body.
func Memories(body []byte) ([]Limits, error) {
	if len(body) == 0 {
		return nil, nil
	}
	r := &reader{b: body}
	out := make([]Limits, 0, r.count(2))
	for i := cap(out); i > 0 && r.err == nil; i-- {
		out = append(out, r.limits())
	}
	return out, r.end("memory")
}

// EncodeMemories encodes a memory section body.
func EncodeMemories(ms []Limits) []byte {
	b := appendULEB(nil, uint64(len(ms)))
	for _, l := range ms {
		b = appendLimits(b, l)
	}
	return b
}

// Global is one defined global: its type and its initialiser, a constant
// expression encoded with its final end opcode.
type Global struct {
	Type    ValType
	Mutable bool
	Init    []byte
}

// Globals decodes a global section body.
func Globals(body []byte) ([]Global, error) {
	if len(body) == 0 {
		return nil, nil
	}
	r := &reader{b: body}
	out := make([]Global, 0, r.count(4))
	for i := cap(out); i > 0 && r.err == nil; i-- {
		g := Global{Type: r.valType()}
		switch mut := r.byte(); mut {
		case 0, 1:
			g.Mutable = mut == 1
		default:
			r.fail("global mutability %d", mut)
		}
		g.Init = r.constExpr()
		out = append(out, g)
	}
	return out, r.end("global")
}

// EncodeGlobals encodes a global section body.
func EncodeGlobals(gs []Global) []byte {
	b := appendULEB(nil, uint64(len(gs)))
	for _, g := range gs {
		b = append(b, g.Type...)
		if g.Mutable {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = append(b, g.Init...)
	}
	return b
}

// constExpr reads a constant expression up to and including its end: the
// instructions the core spec and the extended-const proposal allow.
func (r *reader) constExpr() []byte {
	start := r.off
	for r.err == nil {
		switch op := r.byte(); op {
		case 0x0b: // end
			return r.b[start:r.off]
		case 0x41:
			r.sleb(32)
		case 0x42:
			r.sleb(64)
		case 0x43:
			r.bytes(4)
		case 0x44:
			r.bytes(8)
		case 0x23, 0xd2: // global.get, ref.func
			r.u32()
		case 0xd0: // ref.null
			r.sleb(33)
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // i32/i64 add, sub, mul
		case 0xfd:
			if sub := r.u32(); sub != 12 { // v128.const
				r.fail("constant expression opcode 0xfd %d", sub)
			}
			r.bytes(16)
		default:
			r.fail("constant expression opcode %#x", op)
		}
	}
	return nil
}

// Export is one export.
type Export struct {
	Name  string
	Kind  byte
	Index uint32
}

// Exports decodes an export section body.
func Exports(body []byte) ([]Export, error) {
	if len(body) == 0 {
		return nil, nil
	}
	r := &reader{b: body}
	out := make([]Export, 0, r.count(3))
	for i := cap(out); i > 0 && r.err == nil; i-- {
		out = append(out, Export{Name: r.name(), Kind: r.byte(), Index: r.u32()})
	}
	return out, r.end("export")
}

// EncodeExports encodes an export section body.
func EncodeExports(es []Export) []byte {
	b := appendULEB(nil, uint64(len(es)))
	for _, e := range es {
		b = appendName(b, e.Name)
		b = append(b, e.Kind)
		b = appendULEB(b, uint64(e.Index))
	}
	return b
}

// Data is one data segment. Passive segments have no memory or offset.
type Data struct {
	Passive bool
	Memory  uint32
	Offset  []byte // a constant expression, for active segments
	Bytes   []byte
}

// Datas decodes a data section body.
func Datas(body []byte) ([]Data, error) {
	if len(body) == 0 {
		return nil, nil
	}
	r := &reader{b: body}
	out := make([]Data, 0, r.count(2))
	for i := cap(out); i > 0 && r.err == nil; i-- {
		var d Data
		switch flags := r.u32(); flags {
		case 0:
			d.Offset = r.constExpr()
		case 1:
			d.Passive = true
		case 2:
			d.Memory = r.u32()
			d.Offset = r.constExpr()
		default:
			r.fail("data segment flags %d", flags)
		}
		d.Bytes = r.bytes(uint64(r.u32()))
		out = append(out, d)
	}
	return out, r.end("data")
}

// EncodeDatas encodes a data section body.
func EncodeDatas(ds []Data) []byte {
	n := 5
	for _, d := range ds {
		n += 16 + len(d.Offset) + len(d.Bytes)
	}
	b := appendULEB(make([]byte, 0, n), uint64(len(ds)))
	for _, d := range ds {
		switch {
		case d.Passive:
			b = append(b, 1)
		case d.Memory == 0:
			b = append(b, 0)
			b = append(b, d.Offset...)
		default:
			b = append(b, 2)
			b = appendULEB(b, uint64(d.Memory))
			b = append(b, d.Offset...)
		}
		b = appendULEB(b, uint64(len(d.Bytes)))
		b = append(b, d.Bytes...)
	}
	return b
}

// Count reads the item count at the start of a vector section body (type,
// function, code, ...); an absent section has none.
func Count(body []byte) (int, error) {
	if body == nil {
		return 0, nil
	}
	r := &reader{b: body}
	n := r.count(1)
	return n, r.err
}

// AppendItems adds encoded items to a vector section body, rewriting its
// count.
func AppendItems(body []byte, items ...[]byte) ([]byte, error) {
	n, err := Count(body)
	if err != nil {
		return nil, err
	}
	rest := body
	if body != nil {
		r := &reader{b: body}
		r.u32()
		rest = body[r.off:]
	}
	b := appendULEB(nil, uint64(n+len(items)))
	b = append(b, rest...)
	for _, it := range items {
		b = append(b, it...)
	}
	return b, nil
}
