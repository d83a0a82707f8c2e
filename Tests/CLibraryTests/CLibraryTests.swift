import Testing
import Foundation
import CBLAS
import CPNG
import CJPEG
import CZlib
import COpenSSL
import CSupport

/// Each system-library target really links and works (the Debian packages are present and
/// the module maps are right), independent of VAEGuard's own wrappers.
@Suite("System libraries")
struct CLibraryTests {
    @Test func openblas_sgemm_matchesNaiveProduct() {
        let (m, n, k) = (3, 2, 4)
        let a: [Float] = (0..<(m * k)).map { Float($0) * 0.5 - 1 }
        let b: [Float] = (0..<(k * n)).map { Float($0 % 5) - 2 }
        var c = [Float](repeating: 0, count: m * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
        for i in 0..<m {
            for j in 0..<n {
                let expected = (0..<k).reduce(Float(0)) { $0 + a[i * k + $1] * b[$1 * n + j] }
                #expect(c[i * n + j] == expected)
            }
        }
    }

    @Test func openssl_sha256_ofKnownString() {
        var digest = [UInt8](repeating: 0, count: 32)
        let input = Array("The quick brown fox jumps over the lazy dog".utf8)
        _ = SHA256(input, input.count, &digest)
        #expect(digest.map { String(format: "%02x", $0) }.joined() == "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592")
    }

    @Test func zlib_compressUncompress_roundTrip() {
        let input = Array(repeating: Array("vaeguard ".utf8), count: 50).flatMap { $0 }
        var compressedLength = compressBound(uLong(input.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        #expect(compress(&compressed, &compressedLength, input, uLong(input.count)) == Z_OK)
        var outLength = uLong(input.count)
        var output = [UInt8](repeating: 0, count: input.count)
        #expect(uncompress(&output, &outLength, compressed, compressedLength) == Z_OK)
        #expect(output == input)
        #expect(Int(compressedLength) < input.count / 5)
    }

    @Test func libpng_encodeDecode_roundTrip() throws {
        let (w, h) = (5, 3)
        let pixels: [UInt8] = (0..<(w * h * 3)).map { UInt8(($0 * 37) % 256) }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(w)
        image.height = UInt32(h)
        image.format = UInt32(PNG_FORMAT_RGB)
        var size: png_alloc_size_t = 0
        #expect(png_image_write_to_memory(&image, nil, &size, 0, pixels, 0, nil) != 0)
        var encoded = [UInt8](repeating: 0, count: Int(size))
        #expect(png_image_write_to_memory(&image, &encoded, &size, 0, pixels, 0, nil) != 0)
        png_image_free(&image)

        var decoded = png_image()
        decoded.version = UInt32(PNG_IMAGE_VERSION)
        #expect(png_image_begin_read_from_memory(&decoded, encoded, Int(size)) != 0)
        decoded.format = UInt32(PNG_FORMAT_RGB)
        var out = [UInt8](repeating: 0, count: w * h * 3)
        #expect(png_image_finish_read(&decoded, nil, &out, 0, nil) != 0)
        #expect(out == pixels)
    }

    @Test func turbojpeg_encodeDecode_roundTrip() throws {
        let (w, h) = (16, 16)
        let pixels: [UInt8] = (0..<(w * h * 3)).map { i in UInt8(((i / 3) % w) * 16) }   // smooth horizontal ramp
        let compressor = try #require(tjInitCompress())
        defer { tjDestroy(compressor) }
        var jpeg: UnsafeMutablePointer<UInt8>? = nil
        var jpegSize: UInt = 0
        #expect(tjCompress2(compressor, pixels, Int32(w), 0, Int32(h), Int32(TJPF_RGB.rawValue), &jpeg, &jpegSize,
                            Int32(TJSAMP_444.rawValue), 95, 0) == 0)
        defer { tjFree(jpeg) }
        let decompressor = try #require(tjInitDecompress())
        defer { tjDestroy(decompressor) }
        var out = [UInt8](repeating: 0, count: w * h * 3)
        #expect(tjDecompress2(decompressor, jpeg, jpegSize, &out, Int32(w), 0, Int32(h), Int32(TJPF_RGB.rawValue), 0) == 0)
        let maxError = zip(out, pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(maxError <= 8)
    }

    @Test func cpuid_reportsAVendor() {
        var info = vg_cpu_info()
        #if arch(x86_64)
        #expect(vg_cpu_detect(&info) == 0)
        let vendor = withUnsafeBytes(of: info.vendor) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #expect(!vendor.isEmpty)
        #endif
    }
}
