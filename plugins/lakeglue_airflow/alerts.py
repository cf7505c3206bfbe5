"""Pipeline alerts: a failed task, or quality warnings, sent by e-mail and Slack through the providers' notifiers.

A spec's ``alerts:`` (:class:`lakeglue.pipelines.spec.AlertsSpec`) lists targets per event; the
factory attaches one :class:`LakeAlertNotifier` per event: ``on_failure`` as every task's failure
callback (Airflow calls it once a task has failed for good, after its retries), and
``on_quality_warning`` as the quality task's success callback, which only sends when some
``warning`` rule failed. The message is written here — what failed, the error or the failed
rules, and the run report's URL — and delivered by the SMTP provider's ``SmtpNotifier`` or the
Slack provider's ``SlackWebhookNotifier``; both read server, credentials or webhook URL from the
Airflow connection the target names, so a spec never holds a secret.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from airflow.sdk import BaseNotifier

from lakeglue_airflow.links import run_path, ui_url

Event = Literal["failure", "quality_warning"]
#: Longest error text put in a message (a Spark stack trace would drown the rest; the log has it all).
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    report_url: str

    @property
    def html(self) -> str:
        return (f"<p><b>{html.escape(self.subject)}</b></p><pre>{html.escape(self.text)}</pre>"
                f'<p><a href="{html.escape(self.report_url)}">Run report</a></p>')


def failure_alert(dag_id: str, task_id: str, run_id: str, try_number: int | None, error: object,
                  report_url: str, log_url: str | None = None) -> Alert:
    text = str(error) if error is not None else "no exception was recorded"
    if len(text) > MAX_ERROR_CHARS:
        text = text[:MAX_ERROR_CHARS] + f"… ({len(text) - MAX_ERROR_CHARS} more characters in the task log)"
    lines = [f"Task {task_id} of {dag_id} failed in run {run_id}"
             + (f" (try {try_number})" if try_number else "") + ".", f"Error: {text}", f"Run report: {report_url}"]
    if log_url:
        lines.append(f"Task log: {log_url}")
    return Alert(f"[lakeglue] {dag_id}: task {task_id} failed", "\n".join(lines), report_url)


def quality_warning_alert(dag_id: str, run_id: str, results: Sequence[dict[str, Any]],
                          report_url: str) -> Alert | None:
    """The alert for the quality task's XCom results, or ``None`` when no warning rule failed."""
    warned = [r for r in results if r.get("warnings")]
    if not warned:
        return None
    count = sum(int(r["warnings"]) for r in warned)
    lines = [f"The quality gate of {dag_id} passed in run {run_id}, with {count} warning rule"
             f"{'s' if count != 1 else ''} failed:"]
    for result in warned:
        lines.append("")
        lines.extend(f"  {line}" for line in str(result.get("summary", result.get("table"))).splitlines())
    lines += ["", f"Run report: {report_url}"]
    return Alert(f"[lakeglue] {dag_id}: {count} quality warning{'s' if count != 1 else ''} in run {run_id}",
                 "\n".join(lines), report_url)


def _report_url(dag_id: str, run_id: str) -> str:
    return ui_url(run_path(dag_id, run_id), absolute=True)


def alert_for(event: Event, context: Any) -> Alert | None:
    """The message of ``event`` for the task instance in ``context`` (``None``: nothing to say)."""
    ti = context["ti"]
    dag_id, run_id = ti.dag_id, ti.run_id
    if event == "failure":
        return failure_alert(dag_id, ti.task_id, run_id, getattr(ti, "try_number", None), context.get("exception"),
                             _report_url(dag_id, run_id), getattr(ti, "log_url", None))
    from lakeglue_airflow.operators.quality import RESULTS_XCOM_KEY

    results = ti.xcom_pull(task_ids=ti.task_id, key=RESULTS_XCOM_KEY) or []
    return quality_warning_alert(dag_id, run_id, results, _report_url(dag_id, run_id))


def provider_notifier(target: dict[str, Any], alert: Alert) -> BaseNotifier:
    """The provider notifier that delivers ``alert`` to one ``alerts:`` target of a spec."""
    if target["type"] == "smtp":
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        return SmtpNotifier(to=list(target["to"]), subject=alert.subject, html_content=alert.html,
                            smtp_conn_id=target["conn_id"])
    if target["type"] == "slack_webhook":
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        return SlackWebhookNotifier(slack_webhook_conn_id=target["conn_id"], text=f"*{alert.subject}*\n{alert.text}")
    raise ValueError(f"unknown alert target type {target['type']!r}; types are smtp, slack_webhook")


class AlertDeliveryError(RuntimeError):
    """Some targets of an alert could not be reached; the message names them and why."""


class LakeAlertNotifier(BaseNotifier):
    """Build the alert of ``event`` and send it to every target (a target that fails does not stop the others).

    :param event: ``failure`` or ``quality_warning``.
    :param targets: the spec's targets as dicts (``type``, ``conn_id``, ``to``).
    """

    template_fields = ()  # the message is built from the context, never rendered as a Jinja template

    def __init__(self, event: Event, targets: Sequence[dict[str, Any]]) -> None:
        super().__init__()
        self.event = event
        self.targets = [dict(t) for t in targets]

    def notify(self, context: Any) -> None:
        alert = alert_for(self.event, context)
        if alert is None:
            return
        failed: list[str] = []
        for target in self.targets:
            where = f"{target['type']} via connection {target['conn_id']!r}"
            try:
                # notify(), not __call__: the provider must not render the message (an error text may hold "{{")
                provider_notifier(target, alert).notify(context)
            except Exception as exc:  # one unreachable target must not silence the others; all are reported
                self.log.exception("lakeglue %s alert to %s failed", self.event, where)
                failed.append(f"{where}: {exc}")
            else:
                self.log.info("lakeglue %s alert sent to %s", self.event, where)
        if failed:
            raise AlertDeliveryError(f"{self.event} alert not delivered to {len(failed)} of {len(self.targets)} "
                                     f"targets: " + "; ".join(failed))
