/// The type tag of a GGUF metadata value (`gguf_type` in ggml's `gguf.h`).
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes per value for the fixed-size types; nil for strings and arrays, whose size is in the file.
    public var fixedSize: UInt64? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The spelling llama.cpp uses in its metadata dump (`u32`, `arr`, ...), so messages match its logs.
    public var description: String {
        switch self {
        case .uint8: return "u8"
        case .int8: return "i8"
        case .uint16: return "u16"
        case .int16: return "i16"
        case .uint32: return "u32"
        case .int32: return "i32"
        case .float32: return "f32"
        case .bool: return "bool"
        case .string: return "str"
        case .array: return "arr"
        case .uint64: return "u64"
        case .int64: return "i64"
        case .float64: return "f64"
        }
    }
}

/// One metadata value from a GGUF file.
///
/// Large arrays (a tokenizer's 262,144 tokens, scores and merges) are not kept: the reader skips their
/// bytes and records only the element type and count, which is all a memory estimate needs (the
/// vocabulary size) and keeps a 40 GB model's header from costing tens of megabytes of Swift values.
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    /// A kept array: its element type and every element (nested arrays are `.array` or `.skippedArray`).
    case array(GGUFValueType, [GGUFValue])
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)
    /// An array too large to keep: its element type and element count only.
    case skippedArray(GGUFValueType, count: UInt64)

    /// The type tag this value had in the file.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array, .skippedArray: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// Any integer value as `Int64`; nil for other types and for a `uint64` above `Int64.max`.
    public var integer: Int64? {
        switch self {
        case .uint8(let v): return Int64(v)
        case .int8(let v): return Int64(v)
        case .uint16(let v): return Int64(v)
        case .int16(let v): return Int64(v)
        case .uint32(let v): return Int64(v)
        case .int32(let v): return Int64(v)
        case .uint64(let v): return Int64(exactly: v)
        case .int64(let v): return v
        default: return nil
        }
    }

    /// Any number (integer or float) as `Double`.
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return integer.map(Double.init)
        }
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements of a kept array; nil for a skipped array or a non-array.
    public var arrayValues: [GGUFValue]? {
        if case .array(_, let values) = self { return values }
        return nil
    }

    /// The element count of an array, kept or skipped.
    public var arrayCount: UInt64? {
        switch self {
        case .array(_, let values): return UInt64(values.count)
        case .skippedArray(_, let count): return count
        default: return nil
        }
    }
}

extension GGUFValue: CustomStringConvertible {
    /// Short, for messages: `u32 32768`, `str "gemma3"`, `arr[str,262144]` (llama.cpp's own notation).
    public var description: String {
        switch self {
        case .string(let s): return "str \"\(s.count > 60 ? String(s.prefix(60)) + "..." : s)\""
        case .bool(let b): return "bool \(b)"
        case .float32(let v): return "f32 \(v)"
        case .float64(let v): return "f64 \(v)"
        case .array(let t, let values): return "arr[\(t),\(values.count)]"
        case .skippedArray(let t, let count): return "arr[\(t),\(count)]"
        default: return "\(type) \(integer.map(String.init) ?? "?")"
        }
    }
}
