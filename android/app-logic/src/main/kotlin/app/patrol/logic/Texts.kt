// What the screens say when something goes wrong, and how names are picked in the
// person's language. Chinese first: every text here has zh and en.
package app.patrol.logic

import uniffi.patrol_core.PatrolException

enum class Lang { ZH, EN }

/** Chooses the Chinese or English form of a name the core gives in both. */
fun Lang.pick(zh: String, en: String): String = if (this == Lang.EN && en.isNotBlank()) en else zh

/** What the UI should do about an error, per docs/mobile-core.md. */
enum class ErrorKind { INVALID_INPUT, CONFLICT, NOT_FOUND, SIGN_IN_AGAIN, OFFLINE, STORAGE, UPDATE_APP, UNKNOWN }

/** An error ready for a screen: the text in both languages and, for input errors, the field. */
data class UiError(val kind: ErrorKind, val zh: String, val en: String, val field: String? = null) {
    fun text(lang: Lang): String = if (lang == Lang.EN) en else zh
}

/** The one mapping from the core's typed exceptions to what screens show. */
fun Throwable.toUiError(): UiError = when (this) {
    is PatrolException.InvalidInput -> UiError(ErrorKind.INVALID_INPUT, reasonZh, reason, field)
    is PatrolException.Conflict -> UiError(ErrorKind.CONFLICT, reasonZh, reason)
    is PatrolException.NotFound -> UiError(ErrorKind.NOT_FOUND, "未找到（$what）", "Not found: $what $id")
    is PatrolException.Unauthorized -> UiError(ErrorKind.SIGN_IN_AGAIN, "请重新登录（$detail）", "Please sign in again ($detail)")
    is PatrolException.Network -> UiError(ErrorKind.OFFLINE, "网络不可用，稍后自动重试", "No connection; will retry later ($detail)")
    is PatrolException.Storage -> UiError(ErrorKind.STORAGE, "手机存储出错：$detail", "Phone storage failed: $detail")
    is PatrolException.Outdated -> UiError(ErrorKind.UPDATE_APP, "请更新应用", "Please update the app ($detail)")
    else -> UiError(ErrorKind.UNKNOWN, "出错了：${this.message ?: this::class.simpleName}", "Something went wrong: ${this.message ?: this::class.simpleName}")
}

/** Fixed phrases the logic layer hands to screens (the apps' own string resources hold the rest). */
object Phrases {
    fun numberPending(lang: Lang) = if (lang == Lang.EN) "number pending" else "编号待定"
}
