"""Words the templates translate from data (roles, statuses, audit actions...), listed for the catalogues.

Templates call ``_(value)`` on these; listing them here with ``N_`` lets the catalogue test find them.
"""

from __future__ import annotations

from patroli.web.i18n import N_

ROLES = (N_("analyst"), N_("investigator"), N_("admin"))
STATUSES = (N_("new"), N_("confirmed"), N_("dismissed"), N_("escalated"))
SORTS = (N_("relevance"), N_("risk"), N_("date"), N_("uncertainty"))
FACETS = (N_("source"), N_("status"), N_("country"))
ENTITIES = (
    N_("phone"),
    N_("handle"),
    N_("email"),
    N_("phones"),
    N_("whatsapp"),
    N_("telegram"),
    N_("emails"),
)
BANKS = (N_("bank"), N_("licence"), N_("bank_accounts"))
JOB_TYPES = (
    N_("fishing"),
    N_("domestic"),
    N_("care"),
    N_("plantation"),
    N_("factory"),
    N_("construction"),
    N_("hospitality"),
    N_("driver"),
    N_("office_online"),
)
OFFICES = (N_("head"), N_("branch"))
REGISTER_KINDS = (N_("licences"), N_("sanctions"), N_("job_orders"))
PERIODS = (N_("month"), N_("week"), N_("day"), N_("hour"), N_("year"))
SERIES = (N_("crawled"), N_("flagged"))
RUN_STATUSES = (N_("ok"), N_("degraded"), N_("failed"), N_("running"))
AUDIT_ACTIONS = (
    N_("review"),
    N_("bulk_review"),
    N_("login"),
    N_("login_failed"),
    N_("login_refused"),
    N_("login_throttled"),
    N_("logout"),
    N_("password_change"),
    N_("export"),
    N_("user_create"),
    N_("user_reset"),
    N_("user_role"),
    N_("user_disable"),
    N_("user_enable"),
    N_("user_unlock"),
    N_("model_activate"),
    N_("cluster_review"),
)
