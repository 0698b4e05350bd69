// Marking up a photo: arrows, circles and short texts drawn with a finger over the
// photo and recorded by the core as a layer beside the sealed original
// (`PatrolCore.markPhoto`); the photo's file never changes. This is the editing logic
// behind the Compose screen: view pixels to the photo's 0–10 000 coordinates (the photo
// fitted into its view, letterboxed), what a drag or a tap makes, undo, the bounds the
// core enforces checked before the person presses save. Plain Kotlin only.
package app.patrol.logic

import kotlin.math.hypot
import kotlin.math.min
import kotlin.math.roundToInt
import uniffi.patrol_core.PatrolCore
import uniffi.patrol_protocol.Mark

/** The core's bounds for a layer (patrol_protocol::record): it refuses anything past them. */
object MarkLimits {
    /** Every coordinate runs 0..SCALE across (and down) the photo, whatever its pixels. */
    const val SCALE = 10_000
    const val MARKS_MAX = 24
    const val TEXT_MAX = 40

    /** A drag shorter than this (view pixels) is a tap, not a shape. */
    const val MIN_DRAG_PX = 12f
}

/**
 * Where the photo is drawn in its view, in view pixels. [fit] gives the rectangle of a
 * photo fitted whole into a view ("contain"), centred, so taps in the bars beside it
 * are outside the photo.
 */
data class PhotoFrame(val left: Float, val top: Float, val width: Float, val height: Float) {
    init {
        require(width > 0f && height > 0f) { "an empty frame: $this" }
    }

    /** A view point in the photo's coordinates, clamped to its edges; null when the
     *  point is outside the photo by more than [slackPx] (a tap in the bars). */
    fun toMark(x: Float, y: Float, slackPx: Float = 24f): Pair<Int, Int>? {
        if (x < left - slackPx || x > left + width + slackPx || y < top - slackPx || y > top + height + slackPx) return null
        val mx = ((x - left) / width * MarkLimits.SCALE).roundToInt().coerceIn(0, MarkLimits.SCALE)
        val my = ((y - top) / height * MarkLimits.SCALE).roundToInt().coerceIn(0, MarkLimits.SCALE)
        return mx to my
    }

    /** A photo point back in view pixels (for drawing the layer). */
    fun toView(mx: Int, my: Int): Pair<Float, Float> =
        left + mx * width / MarkLimits.SCALE to top + my * height / MarkLimits.SCALE

    /** A circle's radius (in units of the photo's width) in view pixels. */
    fun radiusToView(r: Int): Float = r * width / MarkLimits.SCALE

    companion object {
        fun fit(imageWidth: Int, imageHeight: Int, viewWidth: Float, viewHeight: Float): PhotoFrame {
            require(imageWidth > 0 && imageHeight > 0 && viewWidth > 0f && viewHeight > 0f) { "empty image or view" }
            val scale = min(viewWidth / imageWidth, viewHeight / imageHeight)
            val w = imageWidth * scale
            val h = imageHeight * scale
            return PhotoFrame((viewWidth - w) / 2, (viewHeight - h) / 2, w, h)
        }
    }
}

enum class MarkTool { ARROW, CIRCLE, TEXT }

/** What a gesture or a save did, for the screen to show. */
sealed interface MarkupOutcome {
    data object Added : MarkupOutcome
    /** Nothing was added: a tap where a drag was needed, or outside the photo. */
    data object Ignored : MarkupOutcome
    data class Refused(val error: UiError) : MarkupOutcome
    data class Saved(val recordId: String) : MarkupOutcome
}

/**
 * One photo's layer being edited. Starts from the layer the core shows ([load]);
 * nothing is recorded until [save], which records the whole layer (an empty one
 * clears the photo's layer).
 */
class MarkupModel private constructor(
    private val core: PatrolCore,
    val sha256: String,
    var frame: PhotoFrame,
    initial: List<Mark>,
) {
    private val _marks = initial.toMutableList()
    val marks: List<Mark> get() = _marks.toList()
    var tool: MarkTool = MarkTool.ARROW
    /** Changed since it was loaded or last saved. */
    var dirty: Boolean = false
        private set

    val canAdd: Boolean get() = _marks.size < MarkLimits.MARKS_MAX

    /** A finger dragged from one view point to another: an arrow pointing at where it
     *  ended, or a circle centred where it began and reaching where it ended. */
    fun drag(fromX: Float, fromY: Float, toX: Float, toY: Float): MarkupOutcome {
        if (tool == MarkTool.TEXT) return MarkupOutcome.Ignored
        if (hypot(toX - fromX, toY - fromY) < MarkLimits.MIN_DRAG_PX) return MarkupOutcome.Ignored
        if (!canAdd) return tooMany()
        val from = frame.toMark(fromX, fromY) ?: return MarkupOutcome.Ignored
        val to = frame.toMark(toX, toY) ?: return MarkupOutcome.Ignored
        val mark = when (tool) {
            MarkTool.ARROW -> {
                if (from == to) return MarkupOutcome.Ignored
                Mark.Arrow(from.first.toUShort(), from.second.toUShort(), to.first.toUShort(), to.second.toUShort())
            }
            else -> {
                // The radius in units of the photo's width, whatever direction it was dragged.
                val r = (hypot(toX - fromX, toY - fromY) / frame.width * MarkLimits.SCALE).roundToInt()
                    .coerceIn(1, MarkLimits.SCALE)
                Mark.Circle(from.first.toUShort(), from.second.toUShort(), r.toUShort())
            }
        }
        return add(mark)
    }

    /** A text placed where the finger tapped: one line, trimmed, at most [MarkLimits.TEXT_MAX]
     *  characters (the field refuses more rather than cutting the person's words). */
    fun text(x: Float, y: Float, typed: String): MarkupOutcome {
        val line = typed.replace(Regex("\\s+"), " ").trim()
        if (line.isEmpty()) return MarkupOutcome.Ignored
        if (line.codePointCount(0, line.length) > MarkLimits.TEXT_MAX) {
            return MarkupOutcome.Refused(
                UiError(
                    ErrorKind.INVALID_INPUT,
                    "标注文字最多 ${MarkLimits.TEXT_MAX} 个字",
                    "a mark's text holds at most ${MarkLimits.TEXT_MAX} characters",
                    "marks",
                ),
            )
        }
        if (!canAdd) return tooMany()
        val at = frame.toMark(x, y) ?: return MarkupOutcome.Ignored
        return add(Mark.Text(at.first.toUShort(), at.second.toUShort(), line))
    }

    fun undo(): Boolean {
        if (_marks.isEmpty()) return false
        _marks.removeAt(_marks.size - 1)
        dirty = true
        return true
    }

    fun clear() {
        if (_marks.isNotEmpty()) dirty = true
        _marks.clear()
    }

    /** Records the layer; the core's refusal (if any) comes back as the screen's error. */
    fun save(): MarkupOutcome = try {
        val id = core.markPhoto(sha256, marks)
        dirty = false
        MarkupOutcome.Saved(id)
    } catch (e: Exception) {
        MarkupOutcome.Refused(e.toUiError())
    }

    private fun add(mark: Mark): MarkupOutcome {
        _marks += mark
        dirty = true
        return MarkupOutcome.Added
    }

    private fun tooMany() = MarkupOutcome.Refused(
        UiError(
            ErrorKind.INVALID_INPUT,
            "一张照片最多 ${MarkLimits.MARKS_MAX} 处标注",
            "at most ${MarkLimits.MARKS_MAX} marks on a photo",
            "marks",
        ),
    )

    companion object {
        /** The editor for a photo of this phone, starting from the layer shown now. */
        fun load(core: PatrolCore, sha256: String, frame: PhotoFrame): MarkupModel =
            MarkupModel(core, sha256, frame, core.photoMarks(sha256))
    }
}
