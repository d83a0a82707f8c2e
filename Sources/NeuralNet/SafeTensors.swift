import Foundation
import Engine

/// Reader and writer for the safetensors format: an 8-byte little-endian header length, a
/// JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then
/// the raw little-endian tensor bytes. F32 and F16 are supported; F16 is widened to F32 on
/// load (compute is always float32).
public enum SafeTensors {
    public enum DType: String, Sendable { case f32 = "F32", f16 = "F16" }

    /// Serialises `tensors` (sorted by name for reproducible files).
    public static func encode(_ tensors: [String: Tensor], dtype: DType = .f32, metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        let width = dtype == .f32 ? 4 : 2
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.count * width]]
            offset += t.count * width
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }   // pad to 8 bytes, as the reference writer does
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            let t = tensors[name]!
            switch dtype {
            case .f32:
                t.storage.withUnsafeBufferPointer { p in
                    out.append(contentsOf: UnsafeRawBufferPointer(p))   // x86-64 and arm64 are little-endian
                }
            case .f16:
                let halves = t.storage.map { Float16($0).bitPattern.littleEndian }
                halves.withUnsafeBufferPointer { out.append(contentsOf: UnsafeRawBufferPointer($0)) }
            }
        }
        return out
    }

    /// Parses a safetensors file's bytes into float32 tensors and its metadata.
    public static func decode(_ data: Data, path: String = "<memory>") throws(NeuralNetError) -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard data.count >= 8 else { throw .invalidFile(path: path, reason: "too short for a safetensors header") }
        let headerLength = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw .invalidFile(path: path, reason: "header length \(headerLength) exceeds the file (\(data.count) bytes)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw .invalidFile(path: path, reason: "header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let available = data.count - dataStart
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtypeName = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw .invalidFile(path: path, reason: "malformed header entry for tensor '\(name)'")
            }
            guard let dtype = DType(rawValue: dtypeName) else { throw .unsupportedDType(name: name, dtype: dtypeName) }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw .invalidFile(path: path, reason: "negative dimension in '\(name)'") }
            let count = shape.reduce(1, *)
            let width = dtype == .f32 ? 4 : 2
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end - begin == count * width else {
                throw .invalidFile(path: path, reason: "tensor '\(name)' offsets \(offsets) do not match shape \(shape)")
            }
            guard end <= available else { throw .truncatedTensor(name: name, expectedBytes: end - begin, availableBytes: max(0, available - begin)) }
            var storage = [Float](repeating: 0, count: count)
            data.withUnsafeBytes { raw in
                let base = raw.baseAddress!.advanced(by: dataStart + begin)
                switch dtype {
                case .f32:
                    storage.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: base, count: count * 4)) }
                case .f16:
                    for i in 0..<count {
                        let bits = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                        storage[i] = Float(Float16(bitPattern: bits))
                    }
                }
            }
            tensors[name] = Tensor(shape: shape, storage: storage)
        }
        return (tensors, metadata)
    }
}
