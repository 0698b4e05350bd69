// What the screens say when something goes wrong, and how names are picked in the
// person's language. Chinese first: every text here has zh and en.
package app.patrol.logic

import uniffi.patrol_core.PatrolException

enum class Lang { ZH, EN }

/** Chooses the Chinese or English form of a name the core gives in both. */
fun Lang.pick(zh: String, en: String): String = if (this == Lang.EN && en.isNotBlank()) en else zh

/** What the UI should do about an error, per docs/mobile-core.md. */
enum class ErrorKind { INVALID_INPUT, CONFLICT, NOT_FOUND, SIGN_IN_AGAIN, OFFLINE, STORAGE, UPDATE_APP, WRONG_STORE_KEY, UNKNOWN }

/** An error ready for a screen: the text in both languages and, for input errors, the field. */
data class UiError(val kind: ErrorKind, val zh: String, val en: String, val field: String? = null) {
    fun text(lang: Lang): String = if (lang == Lang.EN) en else zh
}

/** The one mapping from the core's typed exceptions to what screens show: every one
 *  carries its text in Chinese and English, made by the core. */
fun Throwable.toUiError(): UiError = when (this) {
    is PatrolException.InvalidInput -> UiError(ErrorKind.INVALID_INPUT, reasonZh, reason, field)
    is PatrolException.Conflict -> UiError(ErrorKind.CONFLICT, reasonZh, reason)
    is PatrolException.NotFound -> UiError(ErrorKind.NOT_FOUND, reasonZh, reason)
    is PatrolException.Unauthorized -> UiError(ErrorKind.SIGN_IN_AGAIN, detailZh, detail)
    is PatrolException.Network -> UiError(ErrorKind.OFFLINE, detailZh, detail)
    is PatrolException.Storage -> UiError(ErrorKind.STORAGE, detailZh, detail)
    is PatrolException.Outdated -> UiError(ErrorKind.UPDATE_APP, detailZh, detail)
    is PatrolException.WrongKey -> UiError(ErrorKind.WRONG_STORE_KEY, detailZh, detail)
    else -> UiError(ErrorKind.UNKNOWN, "出错了：${this.message ?: this::class.simpleName}", "Something went wrong: ${this.message ?: this::class.simpleName}")
}

/** Fixed phrases the logic layer hands to screens (the apps' own string resources hold the rest). */
object Phrases {
    fun numberPending(lang: Lang) = if (lang == Lang.EN) "number pending" else "编号待定"
}
