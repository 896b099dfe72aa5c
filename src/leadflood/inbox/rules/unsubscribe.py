"""Unsubscribe requests in plain words, in what the sender wrote now: never in the quoted
message below a reply, where our own footer's "unsubscribe" link sits, and never on a line that
reads like a footer (a link, "click here", "if you no longer wish")."""

from __future__ import annotations

import re

from leadflood.inbox.rules.message import Message
from leadflood.inbox.rules.wording import Hit, Wording

REQUEST = Wording(
    en=r"\bunsubscribe\b|\bremove (?:me|us|my (?:e-?mail|address|name|details))\b|"
    r"\btake (?:me|us|my (?:e-?mail|address)) off\b|\bopt (?:me |us )?out\b|\bopt-out\b|"
    r"\bstop (?:e-?mailing|emailing|sending|contacting|writing to) (?:me|us)\b|"
    r"\b(?:do not|don'?t|never) (?:contact|e-?mail|email|write to) (?:me|us) again\b|"
    r"\bno more e-?mails\b|\bremove .{0,30}from (?:your|the) (?:list|mailing list|database)|"
    r"^\s*stop\s*[.!]?\s*$",
    de=r"\babmelden\b|\babbestellen\b|\baustragen\b|\bentfernen Sie (?:mich|uns|meine)\b|"
    r"\bkeine (?:weiteren )?(?:E-?Mails|Nachrichten) mehr\b|"
    r"\b(?:mich|uns) nicht mehr (?:kontaktieren|anschreiben)\b|\baus (?:Ihrem|dem) Verteiler\b",
    fr=r"\bdésinscri\w*|\bdesinscri\w*|\bdésabonne\w*|\bdesabonne\w*|"
    r"\b(?:retirez|supprimez|enlevez)[- ](?:moi|nous)\b|"
    r"\bne (?:plus|pas) (?:me|nous) (?:contacter|écrire|envoyer)|\bne me contactez plus\b|"
    r"\bne plus recevoir\b",
    es=r"\bdar(?:se|me|nos)? de baja\b|\bden(?:me)? de baja\b|\belimín(?:enme|ame|enos)\b|"
    r"\beliminar(?:me|nos) de (?:su|la|vuestra) lista\b|"
    r"\bno (?:me|nos) (?:contacten|escriban) más\b|"
    r"\bno quiero recibir\b|\bcancelar (?:la|mi) suscripción\b",
    nl=r"\bafmelden\b|\buitschrijven\b|\bschrijf (?:me|mij|ons) uit\b|"
    r"\bverwijder (?:me|mij|ons|mijn)\b|\bhaal (?:me|mij|ons) (?:van|uit)\b|"
    r"\bgeen (?:e-?mails|berichten|mails) meer\b|\bniet meer (?:mailen|contacteren|benaderen)\b",
    pt=r"\bdescadastr\w*|\bcancelar (?:a |minha )?inscrição\b|\bremov(?:a|am|er)[- ]?(?:me|nos)\b|"
    r"\bremov(?:a|am|er) (?:o )?meu (?:e-?mail|endereço|contato)\b|\bnão quero (?:mais )?receber\b|"
    r"\bparar de receber\b|\bnão (?:me|nos) (?:contatem|enviem) mais\b",
)
SUBJECT = re.compile(
    r"^\s*(?:unsubscribe(?: me)?|remove(?: me)?|stop|opt[ -]?out|abmelden|austragen|"
    r"désinscription|desinscription|désabonnement|baja|darse de baja|afmelden|uitschrijven|"
    r"descadastrar|descadastre-me|cancelar inscrição)\s*[.!]*\s*$",
    re.IGNORECASE,
)
FOOTER_LINE = re.compile(
    r"https?://|www\.|click|klicken|cliquez|haga clic|klik|clique|no longer wish|"
    r"nicht mehr erhalten|ne plus recevoir ces|ya no desea|niet langer ontvangen|"
    r"não deseja mais|\{\{|\[unsubscribe|<%|list-unsubscribe|mailto:",
    re.IGNORECASE,
)
_PREFIX = re.compile(r"^\s*(?:(?:re|aw|antw|sv|vs|ref|fwd?|wg|tr|rv|enc)\s*:\s*)+", re.I)


def request(message: Message) -> tuple[Hit, str] | None:
    """The words asking to be removed, and where they were: the subject or the reply text."""
    subject = _PREFIX.sub("", message.subject)
    if SUBJECT.match(subject):
        return Hit("subject", subject.strip(), 0), "subject"
    for line in message.visible.split("\n"):
        if FOOTER_LINE.search(line):
            continue
        hit = REQUEST.search(line)
        if hit:
            return hit, "reply text"
    return None
