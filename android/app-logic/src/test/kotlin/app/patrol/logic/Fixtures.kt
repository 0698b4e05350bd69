// What the suites make for themselves: phone data directories, a camera-like JPEG and a
// drawn signature (java.awt + ImageIO), the watermark font.
package app.patrol.logic

import java.awt.BasicStroke
import java.awt.Color
import java.awt.RenderingHints
import java.awt.image.BufferedImage
import java.io.ByteArrayOutputStream
import java.io.File
import java.nio.file.Files
import javax.imageio.ImageIO
import uniffi.patrol_core.CoreConfig
import uniffi.patrol_core.PatrolCore

object Fixtures {
    private val dirs = mutableListOf<File>()

    init {
        Runtime.getRuntime().addShutdownHook(Thread { dirs.forEach { it.deleteRecursively() } })
    }

    fun font(): String? = (System.getProperty("patrol.font")
        ?: "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").takeIf { File(it).exists() }

    fun dataDir(tag: String): File =
        Files.createTempDirectory("patrol-kotlin-$tag").toFile().also { synchronized(dirs) { dirs += it } }

    /** The store key of the test phones, as the app's Keystore secret would be: 32 bytes. */
    val storeKey: ByteArray = ByteArray(32) { (it * 7 + 3).toByte() }

    /** A phone's settings: the watermark font, 1024 px photos, its store encrypted with [key]. */
    fun config(dir: File, key: ByteArray? = storeKey): CoreConfig =
        CoreConfig(dataDir = dir.path, deviceId = null, fontPath = font(), photoMaxLongEdge = 1024u, jpegQuality = null, storeKey = key)

    /** A fresh phone: its own data directory, hence its own device and record chain;
     *  its store encrypted, as in the app. */
    fun phone(tag: String): PatrolCore = PatrolCore.open(config(dataDir(tag)))

    /** A phone signed in on the server as [login]. */
    fun signedInPhone(server: DemoServer, login: String): PatrolCore =
        phone(login).also { it.login(server.url, login, server.password(login)) }

    /** A 1600×1200 JPEG with some structure, different for each seed. */
    fun cameraJpeg(seed: Int): ByteArray {
        val img = BufferedImage(1600, 1200, BufferedImage.TYPE_INT_RGB)
        val g = img.createGraphics()
        val rnd = java.util.Random(seed.toLong())
        g.color = Color(90 + seed % 100, 120, 140)
        g.fillRect(0, 0, 1600, 1200)
        repeat(40) {
            g.color = Color(rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256))
            g.fillOval(rnd.nextInt(1500), rnd.nextInt(1100), 40 + rnd.nextInt(200), 40 + rnd.nextInt(200))
        }
        g.dispose()
        return encode(img, "jpg")
    }

    /** A signature as the pad draws it: dark strokes on white, PNG. */
    fun signaturePng(): ByteArray {
        val img = BufferedImage(600, 200, BufferedImage.TYPE_INT_RGB)
        val g = img.createGraphics()
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON)
        g.color = Color.WHITE
        g.fillRect(0, 0, 600, 200)
        g.color = Color(20, 20, 60)
        g.stroke = BasicStroke(5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND)
        g.drawPolyline(intArrayOf(40, 120, 160, 220, 300, 380, 460, 560), intArrayOf(150, 40, 160, 60, 150, 50, 140, 90), 8)
        g.dispose()
        return encode(img, "png")
    }

    private fun encode(img: BufferedImage, format: String): ByteArray =
        ByteArrayOutputStream().also { check(ImageIO.write(img, format, it)) { "no $format writer" } }.toByteArray()
}
