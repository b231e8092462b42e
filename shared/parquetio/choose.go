package parquetio

import (
	"math"
	"math/bits"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// A file's storage is chosen per column from a sample of its first rows:
// up to sampleRows rows or sampleBytes of byte-array values, buffered
// before the Parquet writer is made. A column with fewer than minSample
// non-NULL values in the sample keeps the defaults.
const (
	sampleRows  = 2048
	sampleBytes = 512 << 10
	minSample   = 256
)

// trialBytes bounds the values of one column the choices are tried on:
// each trial is a compression, paid once per file.
const trialBytes = 32 << 10

// maxDictionaryBytes bounds a dictionary; past it parquet-go writes the
// rest of the row group PLAIN, so a column that only looked repetitive in
// the sample costs little.
const maxDictionaryBytes = 1 << 20

// Thresholds of the choices (BenchmarkEncodeFixture): dictionary encoding
// when the sample's dictionary, compressed, and its indexes take less than
// dictionaryGain of the compressed DELTA_LENGTH_BYTE_ARRAY encoding; no
// compression when zstd leaves more than incompressible of a page.
const (
	dictionaryGain = 0.85
	incompressible = 0.97
	// incompressibleBits of order-0 entropy per byte, of 8.
	incompressibleBits = 7.5
)

// zstdFastest is the zstd level a column gets instead of the default
// when its sample shows it costs nothing: the codec keeps its own pool of
// encoders, shared by every writer.
var zstdFastest = &zstd.Codec{Level: zstd.SpeedFastest}

// fastestLoss bounds how much larger the fastest level may leave a
// sample than the default (BenchmarkEncodeFixture).
const fastestLoss = 1.01

// choice is how one leaf is stored.
type choice struct {
	dictionary   bool
	uncompressed bool
	// codec, when not nil, replaces the writer's codec for the leaf.
	codec compress.Codec
}

// chooseStorage decides, from the sampled values of each leaf, its
// encoding and whether to compress it with codec.
func chooseStorage(columns [][]parquet.Value, leaves []leaf, codec compress.Codec) []choice {
	out := make([]choice, len(leaves))
	if codec == nil || codec.CompressionCodec() == parquet.Uncompressed.CompressionCodec() {
		return out
	}
	var s sampler
	for j, l := range leaves {
		out[j] = s.choose(columns[j], l.node.Type().Kind(), codec)
	}
	return out
}

// sampler holds the scratch buffers of chooseStorage.
type sampler struct {
	data, enc, comp []byte
	dict            []byte
	offsets         []uint32
	i32             []int32
	i64             []int64
	seen            map[string]struct{}
}

func (s *sampler) choose(values []parquet.Value, kind parquet.Kind, codec compress.Codec) choice {
	s.data, s.offsets, s.i32, s.i64 = s.data[:0], s.offsets[:0], s.i32[:0], s.i64[:0]
	n := 0
	for _, v := range values {
		if v.IsNull() {
			continue
		}
		if len(s.data) >= trialBytes || len(s.i32)+len(s.i64) >= trialBytes/8 {
			break
		}
		n++
		switch kind {
		case parquet.ByteArray:
			s.offsets = append(s.offsets, uint32(len(s.data)))
			s.data = append(s.data, v.ByteArray()...)
		case parquet.Int32:
			s.i32 = append(s.i32, v.Int32())
		case parquet.Int64:
			s.i64 = append(s.i64, v.Int64())
		default: // PLAIN: FLOAT, DOUBLE, FIXED_LEN_BYTE_ARRAY, BOOLEAN
			s.data = append(s.data, v.Bytes()...)
		}
	}
	if n < minSample {
		return choice{}
	}
	var err error
	switch kind {
	case parquet.ByteArray:
		s.offsets = append(s.offsets, uint32(len(s.data)))
		s.enc, err = (&parquet.DeltaLengthByteArray).EncodeByteArray(s.enc[:0], s.data, s.offsets)
	case parquet.Int32:
		s.enc, err = (&parquet.DeltaBinaryPacked).EncodeInt32(s.enc[:0], s.i32)
	case parquet.Int64:
		s.enc, err = (&parquet.DeltaBinaryPacked).EncodeInt64(s.enc[:0], s.i64)
	default:
		s.enc = append(s.enc[:0], s.data...)
	}
	if err != nil || len(s.enc) == 0 {
		return choice{}
	}
	packed := s.compressed(codec, s.enc)
	if kind == parquet.ByteArray {
		if dict, ok := s.dictionaryBytes(codec, n); ok && float64(dict) < dictionaryGain*float64(packed) {
			return choice{dictionary: true}
		}
	}
	// zstd leaves some compressible data raw in a small input (hex text
	// at 4 bits a byte) that it compresses in a full page, so the byte
	// entropy must say incompressible too.
	if float64(packed) > incompressible*float64(len(s.enc)) && entropy(s.enc) > incompressibleBits {
		return choice{uncompressed: true}
	}
	if codec.CompressionCodec() == format.Zstd {
		return choice{codec: s.zstdLevel(s.enc, packed)}
	}
	return choice{}
}

// zstdLevel returns the zstd codec for a leaf whose sample, encoded as
// src, the default level compresses to packed bytes: nil for the default.
// On some text (the fixture's addresses: a few words repeated between
// random digits) the fastest level matches the default for about a third
// of its CPU; elsewhere it loses up to 6% (JSON) or, on hex text, which
// only entropy coding shrinks, everything. It is not tried on a sample the
// default cannot shrink: hex text, which zstd compresses only in a full
// page.
func (s *sampler) zstdLevel(src []byte, packed int) compress.Codec {
	if float64(packed) < incompressible*float64(len(src)) && float64(s.compressed(zstdFastest, src)) <= fastestLoss*float64(packed) {
		return zstdFastest
	}
	return nil
}

// compressed returns the size of src compressed with codec.
func (s *sampler) compressed(codec compress.Codec, src []byte) int {
	var err error
	if s.comp, err = codec.Encode(s.comp[:0], src); err != nil {
		return len(src)
	}
	return len(s.comp)
}

// dictionaryBytes estimates the size of the sample's n byte-array values
// dictionary-encoded: the distinct values PLAIN and compressed, and one
// bit-packed index per value. It reports false when the distinct values
// take more than half the sample: no dictionary could pay then.
func (s *sampler) dictionaryBytes(codec compress.Codec, n int) (int, bool) {
	if s.seen == nil {
		s.seen = make(map[string]struct{})
	}
	clear(s.seen)
	dict := s.dict[:0]
	for i := range n {
		v := s.data[s.offsets[i]:s.offsets[i+1]]
		if _, ok := s.seen[string(v)]; ok {
			continue
		}
		s.seen[string(v)] = struct{}{}
		dict = append(dict, byte(len(v)), byte(len(v)>>8), byte(len(v)>>16), byte(len(v)>>24))
		dict = append(dict, v...)
		if len(dict) > trialBytes/2 {
			return 0, false
		}
	}
	s.dict = dict
	width := bits.Len(uint(len(s.seen)))
	return s.compressed(codec, dict) + (n*width+7)/8, true
}

// entropy returns the order-0 entropy of b in bits per byte.
func entropy(b []byte) float64 {
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	var h float64
	n := float64(len(b))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
