// The real server for the JVM suites: `patrol-server demo --empty` (the demo's people and
// places, no history: the suites count their own notices) on a free loopback port with a
// throwaway data directory, its printed logins parsed, stopped when the JVM exits.
package app.patrol.logic

import java.io.File
import java.net.HttpURLConnection
import java.net.ServerSocket
import java.net.URI
import java.nio.file.Files
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

class DemoServer private constructor(val url: String, private val process: Process, val dataDir: File, private val logins: Map<String, String>) {
    fun password(login: String): String = logins[login] ?: error("the demo printed no login $login (has: ${logins.keys})")

    /**
     * The QR label text of every checkpoint, as the administrator prints them: phones never
     * hold these (they check a scan against a digest), so the tests read them as admin.
     */
    val qrLabels: Map<String, String> by lazy {
        val token = Regex("\"access_token\"\\s*:\\s*\"([^\"]+)\"").find(
            http("POST", "/api/v1/auth/login", null,
                "{\"login\":\"admin\",\"password\":\"${password("admin")}\",\"device_id\":\"${java.util.UUID.randomUUID()}\"}"),
        )?.groupValues?.get(1) ?: error("the demo admin could not sign in")
        val sites = Regex("\"id\"\\s*:\\s*\"([0-9a-f-]{36})\"\\s*,\\s*\"org_id\"").findAll(http("GET", "/api/v1/sites", token, null))
            .map { it.groupValues[1] }.toList()
        val pair = Regex("\"id\"\\s*:\\s*\"([0-9a-f-]{36})\"\\s*,\\s*\"site_id\"[^{}]*?\"qr_token\"\\s*:\\s*\"([^\"]*)\"")
        sites.flatMap { site -> pair.findAll(http("GET", "/api/v1/sites/$site/checkpoints", token, null)).map { it.groupValues[1] to it.groupValues[2] } }
            .toMap()
            .also { check(it.isNotEmpty()) { "the demo has no checkpoints" } }
    }

    fun qrLabel(checkpointId: String): String = qrLabels[checkpointId] ?: error("no label for checkpoint $checkpointId")

    private fun http(method: String, path: String, token: String?, body: String?): String {
        val c = URI("$url$path").toURL().openConnection() as HttpURLConnection
        c.requestMethod = method
        token?.let { c.setRequestProperty("Authorization", "Bearer $it") }
        if (body != null) {
            c.doOutput = true
            c.setRequestProperty("Content-Type", "application/json")
            c.outputStream.use { it.write(body.toByteArray()) }
        }
        check(c.responseCode == 200) { "$method $path answered ${c.responseCode}" }
        return c.inputStream.bufferedReader().readText()
    }

    fun stop() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly()
        dataDir.deleteRecursively()
    }

    companion object {
        /** One server for the whole run; every test uses its own phones (data directories). */
        val shared: DemoServer by lazy { start().also { s -> Runtime.getRuntime().addShutdownHook(Thread { s.stop() }) } }

        fun binary(): File {
            val explicit = System.getProperty("patrol.server.bin") ?: System.getenv("PATROL_SERVER_BIN")
            val bin = File(explicit ?: "target/debug/patrol-server")
            check(bin.canExecute()) { "build the server first: cargo build -p patrol-server (${bin.absolutePath} is missing)" }
            return bin
        }

        fun start(): DemoServer {
            val port = ServerSocket(0).use { it.localPort }
            val dir = Files.createTempDirectory("patrol-kotlin-server").toFile()
            val pb = ProcessBuilder(binary().absolutePath, "demo", "--empty")
                .redirectError(ProcessBuilder.Redirect.INHERIT)
            pb.environment().apply {
                put("PATROL_DATA_DIR", File(dir, "data").path)
                put("PATROL_DATABASE_URL", "sqlite:" + File(dir, "patrol.db").path)
                put("PATROL_LISTEN", "127.0.0.1:$port")
                put("RUST_LOG", "warn")
            }
            val process = pb.start()
            val logins = ConcurrentHashMap<String, String>()
            val printed = CountDownLatch(1)
            Thread {
                var inTable = false
                process.inputStream.bufferedReader().forEachLine { line ->
                    val words = line.trim().split(Regex("\\s+"))
                    when {
                        line.startsWith("Demo ") -> inTable = true
                        inTable && line.startsWith("  ") && words.size >= 2 -> logins[words[0]] = words[1]
                        inTable -> { inTable = false; printed.countDown() }
                    }
                }
                printed.countDown()
            }.apply { isDaemon = true }.start()
            check(printed.await(60, TimeUnit.SECONDS)) { "the demo server printed no logins within 60 s" }
            val url = "http://127.0.0.1:$port"
            waitReady(url, process)
            return DemoServer(url, process, dir, logins.toMap())
        }

        private fun waitReady(url: String, process: Process) {
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
            while (System.nanoTime() < deadline) {
                check(process.isAlive) { "the demo server exited with ${process.exitValue()}" }
                try {
                    val c = URI("$url/readyz").toURL().openConnection() as HttpURLConnection
                    c.connectTimeout = 500
                    if (c.responseCode == 200) return
                } catch (_: java.io.IOException) {
                }
                Thread.sleep(50)
            }
            error("the server at $url did not become ready")
        }
    }
}
