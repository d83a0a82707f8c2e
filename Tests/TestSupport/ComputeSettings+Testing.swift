import Engine

extension ComputeSettings {
    /// Runs `body` with the engine spread over `parallelism` chunks, bound as a task-local, so
    /// suites running beside the caller keep their own settings.
    public static func with<T>(parallelism: Int, _ body: () throws -> T) rethrows -> T {
        var settings = current
        settings.parallelism = parallelism
        return try $current.withValue(settings, operation: body)
    }
}

extension ComputeSettings {
    /// Runs `body` with batch-1 float16 weight copies on or off (task-local, like `with(parallelism:)`).
    public static func with<T>(halfPrecisionWeights: Bool, _ body: () throws -> T) rethrows -> T {
        var settings = current
        settings.halfPrecisionWeights = halfPrecisionWeights
        return try $current.withValue(settings, operation: body)
    }
}
