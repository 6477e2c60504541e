"""Shared helpers for the TUI tests (no tests here): a course bank parsed once, an app on a
private store with a fixed clock, and small pilot utilities."""

from __future__ import annotations

import asyncio
import functools
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from grader.core import paths
from grader.core.bank import Bank, parse_bank
from grader.core.bankcache import load_cached
from grader.core.catalog import EXERCISES
from tui.app import GenlabApp
from tui.clock import fixed

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)  # after any real grading run, so clocks never cross
GRADE_ENV = {"GENLAB_MAX_EXAMPLES": "5"}


@functools.cache
def course_bank() -> Bank:
    """The real questions.yaml, validated once per test process (through a private cache)."""
    return load_cached(paths.bank_path(), folder=Path(tempfile.mkdtemp(prefix="genlab-bank-cache-")))


def pilot_test(test: Any) -> Any:
    """Run an async test body on its own event loop (the project uses no async pytest plugin)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def make_app(tmp_path: Path, **kwargs: Any) -> GenlabApp:
    options: dict[str, Any] = {
        "progress_path": tmp_path / "progress.sqlite3",
        "bank": course_bank(),
        "clock": fixed(NOW),
        "fuzz": False,
        "lang": "en",
        "device": "cpu",
        "submission": ROOT / "exercises",
        "grade_env": GRADE_ENV,
    }
    options.update(kwargs)
    return GenlabApp(**options)


def key_of(app: GenlabApp, qid: str, index: int, option: int) -> str:
    """The number key that picks file option ``option`` of item ``index`` in the student's shown order."""
    from grader.core.shuffle import option_order

    order = option_order(app.study.shuffle_seed, qid, index, app.study.bank.question(qid).quiz[index])
    return str(order.index(option) + 1)


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*("space" if c == " " else c for c in text))


async def wait_for(pilot: Pilot[Any], condition: Any, timeout: float = 180.0) -> None:
    """Let the app run until ``condition()`` holds (grading runs in a background process)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out waiting for the app"
        await asyncio.sleep(0.2)
        await pilot.pause()


def screen_text(app: GenlabApp) -> str:
    """Everything the current screen shows, as plain text (for assertions on content)."""
    from textual.widgets import OptionList, Static

    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, Static):
            parts.append(str(widget.render()))
        elif isinstance(widget, OptionList):
            parts.extend(str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count))
    return "\n".join(parts)


# A small bank for tests that must not move when questions.yaml is edited (snapshots).
MINI_BANK_YAML = """
format_version: 1
sections:
  - id: vae
    title: {ru: "Автоэнкодеры и VAE", en: "Autoencoders and VAEs"}
  - id: attention
    title: {ru: "Механизм внимания", en: "Attention"}
questions:
  - id: q6
    section: vae
    topic: {ru: "KL-регуляризация", en: "KL regularization"}
    prompt: {ru: "Что делает KL-член в VAE?", en: "What does the KL term do in a VAE?"}
    answer:
      ru: "Штрафует отличие апостериорного q(z|x) от априорного N(0, I); делает латентное пространство гладким."
      en: "It penalizes the posterior q(z|x) for differing from the prior N(0, I), which keeps the latent space smooth and easy to sample."
    key_points:
      ru: ["KL(q(z|x) ‖ p(z)) — второй член ELBO", "KL ≥ 0, ноль только при μ = 0, σ = 1", "Гладкое латентное пространство"]
      en: ["KL(q(z|x) ‖ p(z)) is the ELBO's second term", "KL ≥ 0, zero only at μ = 0, σ = 1", "A smooth latent space one can sample"]
    exercises: [vae.kl_standard_normal]
    quiz:
      - kind: single
        prompt: {ru: "К какому распределению KL притягивает q(z|x)?", en: "Towards which distribution does the KL pull q(z|x)?"}
        options:
          - text: {ru: "К априорному N(0, I)", en: "The prior N(0, I)"}
            correct: true
            explanation: {ru: "Верно: KL(q ‖ p) с p = N(0, I).", en: "Right: KL(q ‖ p) with p = N(0, I)."}
          - text: {ru: "К распределению данных", en: "The data distribution"}
            correct: false
            explanation: {ru: "Нет: данные входят в член реконструкции.", en: "No: the data enter the reconstruction term."}
          - text: {ru: "К равномерному", en: "The uniform distribution"}
            correct: false
            explanation: {ru: "Нет: априорное распределение гауссово.", en: "No: the prior is Gaussian."}
      - kind: numeric
        prompt: {ru: "KL(N(0,1) ‖ N(0,1)) = ?", en: "KL(N(0,1) ‖ N(0,1)) = ?"}
        answer: 0
        explanation: {ru: "Одинаковые распределения: KL = 0.", en: "Equal distributions: KL = 0."}
  - id: q7
    section: vae
    topic: {ru: "Размытость изображений VAE", en: "Blurry VAE samples"}
    prompt: {ru: "Почему VAE даёт размытые изображения?", en: "Why are VAE samples blurry?"}
    answer:
      ru: "Гауссово правдоподобие с фиксированной дисперсией (MSE) заставляет декодер предсказывать среднее."
      en: "A Gaussian likelihood with fixed variance (MSE) makes the decoder predict the average of plausible images."
    key_points:
      ru: ["MSE — среднее правдоподобных изображений", "Узкое место апостериорного распределения"]
      en: ["MSE predicts the average of plausible images", "The posterior's information bottleneck"]
    exercises: []
    quiz:
      - kind: multiple
        prompt: {ru: "Что вызывает размытость?", en: "What causes the blur?"}
        options:
          - text: {ru: "MSE с фиксированной дисперсией", en: "MSE with a fixed variance"}
            correct: true
            explanation: {ru: "Верно: оптимум MSE — среднее.", en: "Right: the optimum of MSE is the mean."}
          - text: {ru: "Узкое место q(z|x)", en: "The bottleneck of q(z|x)"}
            correct: true
            explanation: {ru: "Верно: код теряет детали.", en: "Right: the code loses detail."}
          - text: {ru: "Слишком много эпох обучения", en: "Too many training epochs"}
            correct: false
            explanation: {ru: "Нет: это не причина.", en: "No: that is not the cause."}
      - kind: formula
        prompt: {ru: "Функция потерь реконструкции (буквы x и x̂)", en: "The reconstruction loss (letters x and x̂)"}
        accepted: ["||x - x̂||^2"]
        explanation: {ru: "Квадрат нормы разности.", en: "The squared norm of the difference."}
  - id: q59
    section: attention
    topic: {ru: "Оценка внимания", en: "Attention score"}
    prompt: {ru: "Как вычисляется attention score?", en: "How is the attention score computed?"}
    answer:
      ru: "s_ij = q_i·k_j / √d_k; деление на √d_k не даёт softmax насытиться."
      en: "s_ij = q_i·k_j / √d_k; dividing by √d_k keeps the softmax from saturating."
    key_points:
      ru: ["S = Q·Kᵀ/√d_k", "Var(q·k) = d_k", "Затем маска и softmax по ключам"]
      en: ["S = Q·Kᵀ/√d_k", "Var(q·k) = d_k", "Then the mask and the softmax over keys"]
    exercises: [attention.scaled_dot_product_attention]
    quiz:
      - kind: numeric
        prompt: {ru: "d_k = 64. На что умножается Q·Kᵀ?", en: "d_k = 64. By what is Q·Kᵀ multiplied?"}
        answer: 0.125
        tolerance: 0.0001
        explanation: {ru: "1/√64 = 0.125.", en: "1/√64 = 0.125."}
      - kind: single
        prompt: {ru: "По какой оси softmax?", en: "Over which axis is the softmax taken?"}
        options:
          - text: {ru: "По ключам", en: "Over the keys"}
            correct: true
            explanation: {ru: "Верно: веса запроса суммируются в 1.", en: "Right: each query's weights sum to 1."}
          - text: {ru: "По запросам", en: "Over the queries"}
            correct: false
            explanation: {ru: "Нет.", en: "No."}
"""


def mini_bank() -> Bank:
    return parse_bank(MINI_BANK_YAML, "snapshot-bank.yaml", exercise_ids=set(EXERCISES))
