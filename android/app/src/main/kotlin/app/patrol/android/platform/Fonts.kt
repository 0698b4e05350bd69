// The CJK font the core burns the photo watermark with: one shipped in the app's assets
// if the build put one there, else the phone's own Chinese system font.
package app.patrol.android.platform

import android.content.Context
import java.io.File

object Fonts {
    private const val ASSET = "fonts/patrol-cjk.ttf"
    private val SYSTEM = listOf(
        "/system/fonts/NotoSansCJK-Regular.ttc",
        "/system/fonts/NotoSansSC-Regular.otf",
        "/system/fonts/DroidSansFallback.ttf",
        "/system/fonts/DroidSansFallbackFull.ttf",
    )

    fun cjkFontPath(context: Context): String? {
        val copied = File(context.filesDir, "patrol-cjk.ttf")
        if (!copied.exists()) {
            runCatching {
                context.assets.open(ASSET).use { input -> copied.outputStream().use { input.copyTo(it) } }
            }
        }
        if (copied.exists() && copied.length() > 0) return copied.path
        return SYSTEM.firstOrNull { File(it).canRead() }
    }
}
