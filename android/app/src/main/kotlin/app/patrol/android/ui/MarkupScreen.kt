// Marking up one of this phone's photos: arrows, circles and short texts drawn with a
// finger over the photo, saved by the core as a layer beside the sealed original (the
// photo's file never changes). MarkupModel (app-logic) does everything that is logic:
// view pixels to the photo's 0–10 000 coordinates, what a drag or a tap makes, undo, the
// core's bounds; this screen shows the photo fitted into its view, draws the layer the
// way the console draws it over the notice page's photos, and passes the gestures on.
package app.patrol.android.ui

import android.graphics.BitmapFactory
import androidx.activity.compose.BackHandler
import androidx.compose.foundation.Canvas
import androidx.compose.foundation.background
import androidx.compose.foundation.gestures.awaitEachGesture
import androidx.compose.foundation.gestures.awaitFirstDown
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.BoxWithConstraints
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.SideEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.Path
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.graphics.drawscope.DrawScope
import androidx.compose.ui.graphics.drawscope.Stroke
import androidx.compose.ui.graphics.drawscope.clipRect
import androidx.compose.ui.input.pointer.pointerInput
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.TextMeasurer
import androidx.compose.ui.text.TextStyle
import androidx.compose.ui.text.drawText
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.rememberTextMeasurer
import androidx.compose.ui.unit.IntOffset
import androidx.compose.ui.unit.IntSize
import androidx.compose.ui.unit.dp
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewmodel.compose.viewModel
import app.patrol.android.R
import app.patrol.logic.MarkLimits
import app.patrol.logic.MarkTool
import app.patrol.logic.MarkupModel
import app.patrol.logic.MarkupOutcome
import app.patrol.logic.PhotoFrame
import app.patrol.logic.UiError
import app.patrol.logic.toUiError
import java.io.File
import kotlin.math.hypot
import kotlin.math.max
import kotlin.math.roundToInt
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import uniffi.patrol_protocol.Mark

/** The red of the marks, the console's (server/src/web/layout.rs, `marked_thumb`). */
private val MarkRed = Color(0xFFE53935)

// Sizes in the photo's own units (10 000 = its width), as the console draws them, so a
// layer looks the same on the phone as on the notice page.
private const val STROKE = 90
private const val TEXT_SIZE = 600
private const val HALO = 40

/** The white halo round a text: the text drawn white this far off in eight directions. */
private val HALO_DIRECTIONS = listOf(-1f to -1f, 0f to -1f, 1f to -1f, -1f to 0f, 1f to 0f, -1f to 1f, 0f to 1f, 1f to 1f)

/** Decoded no larger than this on the long edge: plenty for a phone's screen. */
private const val DECODE_EDGE = 2048

/** The editor, kept across a rotation: scoped to the screen's back-stack entry, so it is
 *  gone once the screen is left (saved, cancelled or backed out of). */
class MarkupHolder : ViewModel() {
    var model: MarkupModel? = null
}

private class Picture(val image: ImageBitmap, val width: Int, val height: Int)

@Composable
fun MarkupScreen(vm: PatrolViewModel, sha256: String, done: () -> Unit) {
    val context = LocalContext.current
    val holder: MarkupHolder = viewModel()
    val scope = rememberCoroutineScope()
    val measurer = rememberTextMeasurer()
    var model by remember { mutableStateOf(holder.model?.takeIf { it.sha256 == sha256 }) }
    // MarkupModel is plain Kotlin, not observable: every change to it bumps this, and what
    // the screen shows is read from the model again.
    var changes by remember { mutableIntStateOf(0) }
    var busy by remember { mutableStateOf(false) }
    var error by remember { mutableStateOf<UiError?>(null) }
    var missing by remember { mutableStateOf(false) }
    // The drag under the finger, drawn as it goes (view pixels); the model gets it at the end.
    var live by remember { mutableStateOf<Pair<Offset, Offset>?>(null) }
    var typingAt by remember { mutableStateOf<Offset?>(null) }
    var textRefusal by remember { mutableStateOf<UiError?>(null) }
    var discarding by remember { mutableStateOf(false) }

    // The stored photo, the sealed original, decoded off the main thread.
    val picture by produceState<Picture?>(null, sha256) {
        value = withContext(Dispatchers.IO) { decodePhoto(File(context.filesDir, "patrol/photos/$sha256.jpg")) }
        missing = value == null
    }

    val m = model
    val marks = remember(m, changes) { m?.marks.orEmpty() }
    val tool = remember(m, changes) { m?.tool ?: MarkTool.ARROW }
    val dirty = remember(m, changes) { m?.dirty == true }
    val canAdd = remember(m, changes) { m?.canAdd != false }

    fun show(outcome: MarkupOutcome) {
        when (outcome) {
            is MarkupOutcome.Refused -> error = outcome.error
            MarkupOutcome.Added -> error = null
            MarkupOutcome.Ignored, is MarkupOutcome.Saved -> Unit
        }
        changes++
    }

    fun gesture(from: Offset, to: Offset) {
        val editor = model ?: return
        if (busy) return
        if (editor.tool == MarkTool.TEXT) {
            // A text goes where the finger was lifted; a tap in the bars beside the photo
            // (no point of it) or on a full layer opens nothing.
            if (editor.canAdd && editor.frame.toMark(to.x, to.y) != null) {
                textRefusal = null
                typingAt = to
            }
            return
        }
        show(editor.drag(from.x, from.y, to.x, to.y))
    }

    fun save() {
        val editor = model ?: return
        scope.launch {
            busy = true
            try {
                when (val outcome = vm.repo.saveMarkup(editor)) {
                    is MarkupOutcome.Saved -> done()
                    is MarkupOutcome.Refused -> error = outcome.error
                    MarkupOutcome.Added, MarkupOutcome.Ignored -> Unit
                }
            } finally {
                busy = false
                changes++
            }
        }
    }

    fun leave() {
        if (dirty) discarding = true else done()
    }
    BackHandler(enabled = dirty && !busy) { discarding = true }

    Column(Modifier.fillMaxSize()) {
        Row(Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 8.dp), verticalAlignment = Alignment.CenterVertically) {
            Text(stringResource(R.string.markup_title), Modifier.weight(1f), style = MaterialTheme.typography.titleLarge)
            Text(
                stringResource(R.string.markup_count, marks.size, MarkLimits.MARKS_MAX),
                style = MaterialTheme.typography.bodySmall,
                color = if (canAdd) Color.Unspecified else Overdue,
            )
        }
        if (busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorBanner(error) { error = null }
        BoxWithConstraints(Modifier.fillMaxWidth().weight(1f).background(Color.Black)) {
            val p = picture
            if (p == null) {
                if (missing) {
                    Text(stringResource(R.string.markup_photo_missing), Modifier.align(Alignment.Center).padding(24.dp), color = Color.White)
                }
                return@BoxWithConstraints
            }
            val viewW = constraints.maxWidth
            val viewH = constraints.maxHeight
            if (viewW <= 0 || viewH <= 0) return@BoxWithConstraints
            val frame = remember(p, viewW, viewH) { PhotoFrame.fit(p.width, p.height, viewW.toFloat(), viewH.toFloat()) }
            // The layer shown now (the newest), read once the photo's place is known; after
            // a rotation the kept editor only moves to the new frame.
            LaunchedEffect(sha256) {
                if (model != null) return@LaunchedEffect
                try {
                    val loaded = vm.repo.openMarkup(sha256, frame)
                    holder.model = loaded
                    model = loaded
                } catch (e: CancellationException) {
                    throw e
                } catch (e: Exception) {
                    error = e.toUiError()
                }
            }
            SideEffect { model?.frame = frame }
            Canvas(
                Modifier.fillMaxSize().pointerInput(m) {
                    if (m == null) return@pointerInput
                    awaitEachGesture {
                        val down = awaitFirstDown()
                        var last = down.position
                        live = down.position to last
                        do {
                            val change = awaitPointerEvent().changes.firstOrNull { it.id == down.id } ?: break
                            last = change.position
                            change.consume()
                            live = down.position to last
                        } while (change.pressed)
                        live = null
                        gesture(down.position, last)
                    }
                },
            ) {
                drawImage(
                    p.image,
                    dstOffset = IntOffset(frame.left.roundToInt(), frame.top.roundToInt()),
                    dstSize = IntSize(frame.width.roundToInt(), frame.height.roundToInt()),
                )
                clipRect(frame.left, frame.top, frame.left + frame.width, frame.top + frame.height) {
                    marks.forEach { drawMark(it, frame, measurer) }
                    live?.let { (a, b) -> drawLive(tool, a, b, frame) }
                }
            }
        }
        Column(Modifier.padding(horizontal = 16.dp, vertical = 8.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Row(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
                listOf(MarkTool.ARROW to R.string.markup_arrow, MarkTool.CIRCLE to R.string.markup_circle, MarkTool.TEXT to R.string.markup_text)
                    .forEach { (t, label) ->
                        FilterChip(
                            selected = tool == t,
                            onClick = { m?.tool = t; changes++ },
                            enabled = m != null,
                            label = { Text(stringResource(label)) },
                        )
                    }
            }
            Text(
                when {
                    !canAdd -> stringResource(R.string.markup_full, MarkLimits.MARKS_MAX)
                    tool == MarkTool.ARROW -> stringResource(R.string.markup_hint_arrow)
                    tool == MarkTool.CIRCLE -> stringResource(R.string.markup_hint_circle)
                    else -> stringResource(R.string.markup_hint_text)
                },
                style = MaterialTheme.typography.bodySmall,
                color = if (canAdd) Color.Unspecified else Overdue,
            )
            Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.spacedBy(8.dp), verticalAlignment = Alignment.CenterVertically) {
                OutlinedButton(onClick = { m?.undo(); changes++ }, enabled = !busy && marks.isNotEmpty()) { Text(stringResource(R.string.markup_undo)) }
                OutlinedButton(onClick = { m?.clear(); changes++ }, enabled = !busy && marks.isNotEmpty()) { Text(stringResource(R.string.clear)) }
            }
            Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.spacedBy(8.dp, Alignment.End)) {
                TextButton(onClick = { leave() }, enabled = !busy) { Text(stringResource(R.string.cancel)) }
                Button(onClick = { save() }, enabled = !busy && dirty) { Text(stringResource(R.string.markup_save)) }
            }
            Text(stringResource(R.string.markup_note), style = MaterialTheme.typography.bodySmall)
        }
    }

    typingAt?.let { at ->
        MarkTextDialog(
            refusal = textRefusal,
            onConfirm = { typed ->
                val editor = model
                if (editor != null) {
                    when (val outcome = editor.text(at.x, at.y, typed)) {
                        // Too long: the dialog stays, with the person's words and why.
                        is MarkupOutcome.Refused -> textRefusal = outcome.error
                        else -> {
                            typingAt = null
                            show(outcome)
                        }
                    }
                }
            },
            onDismiss = { typingAt = null },
        )
    }
    if (discarding) {
        AlertDialog(
            onDismissRequest = { discarding = false },
            title = { Text(stringResource(R.string.markup_discard)) },
            confirmButton = { TextButton(onClick = { discarding = false; done() }) { Text(stringResource(R.string.markup_discard_confirm)) } },
            dismissButton = { TextButton(onClick = { discarding = false }) { Text(stringResource(R.string.cancel)) } },
        )
    }
}

/** One line of text for a mark; the model trims it and refuses more than
 *  [MarkLimits.TEXT_MAX] characters (the refusal is shown here, the words kept). */
@Composable
private fun MarkTextDialog(refusal: UiError?, onConfirm: (String) -> Unit, onDismiss: () -> Unit) {
    var text by remember { mutableStateOf("") }
    val count = text.codePointCount(0, text.length)
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(R.string.markup_text_title)) },
        text = {
            OutlinedTextField(
                text,
                { text = it },
                label = { Text(stringResource(R.string.markup_text_label, MarkLimits.TEXT_MAX)) },
                singleLine = true,
                isError = refusal != null,
                supportingText = { Text(refusal?.text(currentLang()) ?: stringResource(R.string.markup_text_count, count, MarkLimits.TEXT_MAX)) },
                modifier = Modifier.fillMaxWidth(),
            )
        },
        confirmButton = {
            TextButton(onClick = { onConfirm(text) }, enabled = text.isNotBlank()) { Text(stringResource(R.string.confirm)) }
        },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
    )
}

/** The photo at most [DECODE_EDGE] on its long edge, with its stored size (the frame is
 *  the stored photo's, whatever it was decoded at); null if this phone has no such file. */
private fun decodePhoto(file: File): Picture? {
    if (!file.exists()) return null
    val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
    BitmapFactory.decodeFile(file.path, bounds)
    if (bounds.outWidth <= 0 || bounds.outHeight <= 0) return null
    var sample = 1
    while (max(bounds.outWidth, bounds.outHeight) / (sample * 2) >= DECODE_EDGE) sample *= 2
    val bitmap = BitmapFactory.decodeFile(file.path, BitmapFactory.Options().apply { inSampleSize = sample }) ?: return null
    return Picture(bitmap.asImageBitmap(), bounds.outWidth, bounds.outHeight)
}

/** A size in the photo's units (of its width) in view pixels, never thinner than a line. */
private fun DrawScope.units(frame: PhotoFrame, u: Int): Float = max(frame.radiusToView(u), 1.dp.toPx())

private fun DrawScope.drawMark(mark: Mark, frame: PhotoFrame, measurer: TextMeasurer) {
    when (mark) {
        is Mark.Arrow -> {
            val (fx, fy) = frame.toView(mark.fromX.toInt(), mark.fromY.toInt())
            val (tx, ty) = frame.toView(mark.toX.toInt(), mark.toY.toInt())
            drawArrow(Offset(fx, fy), Offset(tx, ty), units(frame, STROKE))
        }
        is Mark.Circle -> {
            val (cx, cy) = frame.toView(mark.x.toInt(), mark.y.toInt())
            drawCircle(MarkRed, frame.radiusToView(mark.radius.toInt()), Offset(cx, cy), style = Stroke(units(frame, STROKE)))
        }
        is Mark.Text -> {
            // (x, y) is the text's top-left corner; red on a white halo, legible on any photo.
            val (x, y) = frame.toView(mark.x.toInt(), mark.y.toInt())
            val layout = measurer.measure(
                mark.text,
                TextStyle(fontSize = units(frame, TEXT_SIZE).toSp(), fontWeight = FontWeight.SemiBold),
                softWrap = false,
            )
            val halo = units(frame, HALO)
            for ((dx, dy) in HALO_DIRECTIONS) drawText(layout, color = Color.White, topLeft = Offset(x + dx * halo, y + dy * halo))
            drawText(layout, color = MarkRed, topLeft = Offset(x, y))
        }
    }
}

/** The drag in progress, as the model will take it: an arrow to the finger, or a circle
 *  round where it began. */
private fun DrawScope.drawLive(tool: MarkTool, from: Offset, to: Offset, frame: PhotoFrame) {
    val stroke = units(frame, STROKE)
    when (tool) {
        MarkTool.ARROW -> drawArrow(from, to, stroke)
        MarkTool.CIRCLE -> drawCircle(MarkRed, hypot(to.x - from.x, to.y - from.y), from, style = Stroke(stroke))
        MarkTool.TEXT -> Unit
    }
}

/** A line with a filled head at [to], the head four strokes long as the console's marker. */
private fun DrawScope.drawArrow(from: Offset, to: Offset, stroke: Float) {
    val length = hypot(to.x - from.x, to.y - from.y)
    if (length < 1f) return
    val ux = (to.x - from.x) / length
    val uy = (to.y - from.y) / length
    val head = minOf(stroke * 4, length)
    val base = Offset(to.x - ux * head, to.y - uy * head)
    drawLine(MarkRed, from, base, strokeWidth = stroke)
    val half = head / 2
    val tip = Path().apply {
        moveTo(to.x, to.y)
        lineTo(base.x - uy * half, base.y + ux * half)
        lineTo(base.x + uy * half, base.y - ux * half)
        close()
    }
    drawPath(tip, MarkRed)
}
