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
