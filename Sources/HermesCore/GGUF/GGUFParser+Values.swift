/// Metadata values, arrays (kept or skipped), alignment and tensor infos: the parts of a GGUF parse
/// whose sizes come from the file, each checked against what the file can hold before it is used.
extension GGUFParser {
    // MARK: Values

    mutating func value(_ type: GGUFValueType, depth: Int, _ what: @autoclosure () -> String) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try source.u8(what()))
        case .int8: return .int8(Int8(bitPattern: try source.u8(what())))
        case .uint16: return .uint16(try source.u16(what()))
        case .int16: return .int16(Int16(bitPattern: try source.u16(what())))
        case .uint32: return .uint32(try source.u32(what()))
        case .int32: return .int32(Int32(bitPattern: try source.u32(what())))
        case .float32: return .float32(Float(bitPattern: try source.u32(what())))
        case .bool: return .bool(try source.u8(what()) != 0)
        case .string: return .string(try string(limit: limits.stringBytes, what()))
        case .uint64: return .uint64(try source.u64(what()))
        case .int64: return .int64(Int64(bitPattern: try source.u64(what())))
        case .float64: return .float64(Double(bitPattern: try source.u64(what())))
        case .array: return try array(depth: depth + 1, what())
        }
    }

    mutating func array(depth: Int, _ what: @autoclosure () -> String) throws(GGUFError) -> GGUFValue {
        let start = source.offset
        guard depth <= limits.nesting else {
            throw .invalidValue(path: path, offset: start, what: what(),
                                detail: "arrays nested more than \(limits.nesting) deep")
        }
        let elementType = try valueType(try source.u32("the element type of \(what())"), at: start, "the element type of \(what())")
        let countOffset = source.offset
        let count = try count("the element count of \(what())")
        let minElement = minimumSize(of: elementType)
        if count > fileSize / minElement {
            throw .absurdLength(path: path, offset: countOffset, what: "the element count of \(what())", length: count,
                                limit: fileSize / minElement)
        }
        if count > (fileSize - source.offset) / minElement {
            throw .truncated(path: path, offset: source.offset,
                             reading: "\(what()) (\(count) elements of \(elementType))", fileSize: fileSize)
        }
        if count <= limits.keptArrayCount, keptElements + count <= limits.keptElementsTotal {
            keptElements += count
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(count))
            for i in 0..<count {
                values.append(try value(elementType, depth: depth, "\(what())[\(i)]"))
            }
            return .array(elementType, values)
        }
        try skipElements(elementType, count: count, depth: depth, what())
        return .skippedArray(elementType, count: count)
    }

    /// Moves past `count` elements without decoding them: one jump for fixed-size types, a length read
    /// and a jump per string, recursion for nested arrays.
    mutating func skipElements(_ type: GGUFValueType, count: UInt64, depth: Int, _ what: @autoclosure () -> String) throws(GGUFError) {
        if let size = type.fixedSize {
            // count * size fits: the caller checked count <= (bytes left) / size.
            try source.skip(count * size, what())
            return
        }
        for i in 0..<count {
            try tick("\(what())[\(i)]")
            switch type {
            case .string:
                let at = source.offset
                let length = try self.count("the length of \(what())[\(i)]")
                try checkLength(length, at: at, limit: fileSize, "\(what())[\(i)]")
                try source.skip(length, "\(what())[\(i)]")
            default:
                let start = source.offset
                guard depth + 1 <= limits.nesting else {
                    throw .invalidValue(path: path, offset: start, what: "\(what())[\(i)]",
                                        detail: "arrays nested more than \(limits.nesting) deep")
                }
                let inner = try valueType(try source.u32("the element type of \(what())[\(i)]"), at: start,
                                          "the element type of \(what())[\(i)]")
                let countOffset = source.offset
                let n = try self.count("the element count of \(what())[\(i)]")
                let minElement = minimumSize(of: inner)
                if n > fileSize / minElement {
                    throw .absurdLength(path: path, offset: countOffset, what: "the element count of \(what())[\(i)]",
                                        length: n, limit: fileSize / minElement)
                }
                if n > (fileSize - source.offset) / minElement {
                    throw .truncated(path: path, offset: source.offset,
                                     reading: "\(what())[\(i)] (\(n) elements of \(inner))", fileSize: fileSize)
                }
                try skipElements(inner, count: n, depth: depth + 1, "\(what())[\(i)]")
            }
        }
    }

    /// The fewest bytes one element can take: strings and arrays at least carry their length or header.
    func minimumSize(of type: GGUFValueType) -> UInt64 {
        if let size = type.fixedSize { return size }
        switch type {
        case .string: return wide ? 8 : 4
        default: return wide ? 12 : 8
        }
    }

    // MARK: Alignment and tensors

    func alignment(_ metadata: [String: GGUFValue]) throws(GGUFError) -> UInt64 {
        guard let value = metadata["general.alignment"] else { return 32 }
        // llama.cpp insists on u32 and a power of two; a file it refuses must not pass here.
        guard case .uint32(let a) = value, a != 0, a & (a - 1) == 0 else {
            throw .invalidValue(path: path, offset: 0, what: "metadata key general.alignment",
                                detail: "expected a u32 power of two, found \(value)")
        }
        return UInt64(a)
    }

    mutating func tensorInfo(index: UInt64, alignment: UInt64) throws(GGUFError) -> GGUFTensorInfo {
        let start = source.offset
        let name = try string(limit: limits.tensorNameBytes, "the name of tensor \(index)")
        let dimsOffset = source.offset
        let nDims = try source.u32("the dimension count of tensor \(name)")
        // GGML_MAX_DIMS is 4: llama.cpp rejects more, and a garbage count must not drive a loop.
        guard nDims <= 4 else {
            throw .invalidValue(path: path, offset: dimsOffset, what: "tensor \(name)", detail: "\(nDims) dimensions (at most 4)")
        }
        var dims: [UInt64] = []
        var elements: UInt64 = 1
        for d in 0..<nDims {
            let dim: UInt64
            if wide {
                dim = try source.u64("dimension \(d) of tensor \(name)")
            } else {
                dim = UInt64(try source.u32("dimension \(d) of tensor \(name)"))
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            if overflow || product > fileSize.saturatingMultiply(256) {
                // No tensor stored in this file can have more elements than ~bits in it.
                throw .absurdLength(path: path, offset: dimsOffset, what: "the element count of tensor \(name)",
                                    length: overflow ? UInt64.max : product, limit: fileSize.saturatingMultiply(256))
            }
            elements = product
            dims.append(dim)
        }
        let type = GGMLType(rawValue: try source.u32("the type of tensor \(name)"))
        if let block = type.blockSize, let first = dims.first, first % block != 0 {
            throw .invalidValue(path: path, offset: start, what: "tensor \(name)",
                                detail: "row of \(first) elements is not a multiple of the \(type) block size \(block)")
        }
        let offsetAt = source.offset
        let offset = try source.u64("the data offset of tensor \(name)")
        guard offset % alignment == 0 else {
            throw .invalidValue(path: path, offset: offsetAt, what: "tensor \(name)",
                                detail: "data offset \(offset) is not a multiple of the alignment \(alignment)")
        }
        return GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: offset)
    }
}
