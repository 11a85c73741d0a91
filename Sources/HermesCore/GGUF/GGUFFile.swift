/// Everything before the tensor data of a GGUF file: header, metadata and tensor infos.
public struct GGUFFile: Sendable, Equatable {
    public let path: String
    /// 1, 2 or 3.
    public let version: UInt32
    public let fileSize: UInt64
    /// Every metadata key/value; large arrays are `.skippedArray` (count only).
    public let metadata: [String: GGUFValue]
    /// The metadata keys in file order (a dictionary loses it; dumps and tests want it).
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    /// `general.alignment`, 32 when absent.
    public let alignment: UInt64
    /// Where the tensor data begins: the end of the tensor infos rounded up to `alignment`.
    public let tensorDataOffset: UInt64

    public init(path: String, version: UInt32, fileSize: UInt64, metadata: [String: GGUFValue], metadataKeys: [String],
                tensors: [GGUFTensorInfo], alignment: UInt64, tensorDataOffset: UInt64) {
        self.path = path
        self.version = version
        self.fileSize = fileSize
        self.metadata = metadata
        self.metadataKeys = metadataKeys
        self.tensors = tensors
        self.alignment = alignment
        self.tensorDataOffset = tensorDataOffset
    }

    /// The bytes of tensor data: file size minus the aligned start of the data section.
    ///
    /// This is what llama.cpp maps or loads, padding between tensors included, so it is the figure a
    /// memory estimate wants; `tensorBytes` (the sum of the tensors' own sizes) differs only by that padding.
    public var weightsBytes: UInt64 { fileSize > tensorDataOffset ? fileSize - tensorDataOffset : 0 }

    /// The sum of every tensor's size; nil when a tensor has a ggml type this reader has no size for.
    public var tensorBytes: UInt64? {
        var total: UInt64 = 0
        for t in tensors {
            guard let b = t.bytes else { return nil }
            // Tensors may overlap in a hostile file: their sizes can add up past 2^64.
            let (sum, overflow) = total.addingReportingOverflow(b)
            total = overflow ? .max : sum
        }
        return total
    }

    public subscript(key: String) -> GGUFValue? { metadata[key] }
}

/// One tensor's description from the tensor info section.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions, innermost first (ggml's `ne`).
    public let dimensions: [UInt64]
    public let type: GGMLType
    /// Offset of the tensor's data from `GGUFFile.tensorDataOffset`.
    public let offset: UInt64

    public init(name: String, dimensions: [UInt64], type: GGMLType, offset: UInt64) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
    }

    /// Product of the dimensions, saturating at 2^64 - 1 (the reader refuses a file where it overflows).
    public var elementCount: UInt64 {
        var product: UInt64 = 1
        for d in dimensions {
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            if overflow { return .max }
            product = p
        }
        return product
    }

    /// Size of the tensor's data, saturating at 2^64 - 1; nil for a ggml type with no known block size.
    public var bytes: UInt64? {
        guard let block = type.blockSize, let size = type.typeSize, block > 0 else { return nil }
        let (b, overflow) = (elementCount / block).multipliedReportingOverflow(by: size)
        return overflow ? .max : b
    }
}

/// A ggml tensor element type (`ggml_type`): its id, name and block layout.
public struct GGMLType: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Elements per block and bytes per block. Copied from `GGML_QUANT_SIZES` in llama.cpp's
    /// `gguf-py/gguf/constants.py` (build b11434); ids 4, 5 and 31-33 were retired upstream.
    static let layouts: [UInt32: (name: String, block: UInt64, size: UInt64)] = [
        0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
        6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
        10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
        14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74),
        18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
        22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
        26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2),
        34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36),
        41: ("Q1_0", 128, 18), 42: ("Q2_0", 64, 18),
    ]

    /// `Q4_K`, or `type 77` for an id this reader does not know (newer llama.cpp types keep appearing).
    public var name: String { Self.layouts[rawValue]?.name ?? "type \(rawValue)" }
    public var blockSize: UInt64? { Self.layouts[rawValue]?.block }
    public var typeSize: UInt64? { Self.layouts[rawValue]?.size }
    public var description: String { name }

    public static let f32 = GGMLType(rawValue: 0)
    public static let f16 = GGMLType(rawValue: 1)
    public static let q4_0 = GGMLType(rawValue: 2)
    public static let q8_0 = GGMLType(rawValue: 8)
    public static let q4_K = GGMLType(rawValue: 12)
    public static let q6_K = GGMLType(rawValue: 14)
}
