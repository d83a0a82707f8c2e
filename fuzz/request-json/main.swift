// libFuzzer entry point for the JSON the service decodes from request bodies: the Open
// Inference Protocol v2 infer request (`POST /v2/models/:name/infer`), the only route that
// reads JSON from a client. It covers exactly what `OpenInference.infer` runs before any
// model is involved: `InferRequest.parse` (`OIPJSONReader`, `inputs`, `id`, `parameters`,
// `outputs`, and Triton's binary tensor data after a JSON header), `InferRequest.query` (parameters -> query string, then `HTTPQuery`, which
// is what `RequestOptions` reads) and `InferRequest.decodeTensor` (shape, datatype, layout,
// nested data, value ranges, NCHW -> NHWC).
//
// Built by scripts/fuzz.sh with `swiftc -sanitize=fuzzer,address -parse-as-library`
// together with Sources/Service/OpenInference+Request.swift, OpenInference+JSON.swift and the
// HTTPServer value types only. Each input is parsed twice: as all JSON, and with its first
// byte choosing a JSON header length (the rest binary data). Invariants checked beyond "does not crash":
//   * a refusal is an `InferRequestError` (typed throws) with a non-empty message;
//   * `parameters` survive the trip through the query string: `HTTPQuery(query)` holds
//     exactly one item per parameter, with the parameter's name and value;
//   * a tensor decoded for a model input [H, W, C] has shape [N, H, W, C] with
//     1 <= N <= 256, exactly N*H*W*C values, all finite and in [0, 1];
//   * for single-channel models NCHW and NHWC hold the same numbers, so decoding the
//     same input with the other layout's shape gives the same tensor.

import Foundation

/// Model input shapes [H, W, C] to validate against: MNIST, CIFAR-10, the test suite's toy
/// model, and small ones that a mutated input can actually fill with data.
let modelInputs: [[Int]] = [[28, 28, 1], [32, 32, 3], [8, 8, 1], [2, 2, 1], [1, 2, 3], [2, 1, 2]]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let body = Data(bytes: data, count: size)
    check(body: body, headerLength: nil)
    if size > 1 { check(body: body.dropFirst(), headerLength: Int(data[0]) % size) }
    return 0
}

func check(body: Data, headerLength: Int?) {
    let request: InferRequest
    do {
        request = try InferRequest.parse(body, headerLength: headerLength)
    } catch {
        check(!error.description.isEmpty, "empty error message")
        return
    }

    // Parameters -> query string -> HTTPQuery must be lossless.
    let query = HTTPQuery(request.query)
    let expected = request.parameters.map { "\($0.key)\u{0}\($0.value.queryValue)" }.sorted()
    let got = query.items.map { "\($0.name)\u{0}\($0.value)" }.sorted()
    check(got == expected, "parameters changed through the query string: \(expected) -> \(got)")

    for inputShape in modelInputs {
        let tensor: InferRequest.DecodedTensor
        do {
            tensor = try InferRequest.decodeTensor(request.input, inputShape: inputShape, modelName: "m")
        } catch {
            check(!error.description.isEmpty, "empty error message")
            continue
        }
        checkTensor(tensor, inputShape: inputShape)
        // With one channel the two layouts are the same numbers: swap the declared layout.
        if inputShape[2] == 1 {
            var other = request.input
            let nchw = other.fields["parameters"]?.object?["layout"]?.string?.uppercased() == "NCHW"
            other.fields["parameters"] = .object(["layout": .string(nchw ? "NHWC" : "NCHW")])
            let n = Double(tensor.shape[0]), (h, w) = (Double(inputShape[0]), Double(inputShape[1]))
            other.fields["shape"] = .array((nchw ? [n, h, w, 1] : [n, 1, h, w]).map(OIPJSON.number))
            let swapped = try? InferRequest.decodeTensor(other, inputShape: inputShape, modelName: "m")
            check(swapped == tensor, "NCHW and NHWC disagree for one channel")
        }
    }
}

func checkTensor(_ t: InferRequest.DecodedTensor, inputShape: [Int]) {
    check(t.shape.count == 4 && Array(t.shape[1...]) == inputShape, "shape \(t.shape) for model \(inputShape)")
    check((1...256).contains(t.shape[0]), "batch size \(t.shape[0])")
    check(t.storage.count == t.shape.reduce(1, *), "\(t.storage.count) values for shape \(t.shape)")
    check(t.storage.allSatisfy { $0 >= 0 && $0 <= 1 }, "value outside [0, 1]")
}

/// `precondition` that prints its message in optimized builds too, then traps for libFuzzer.
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("invariant failed: \(message)\n".utf8))
    fatalError(message)
}
