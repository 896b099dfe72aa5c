from __future__ import annotations

from leadflood.errors import Conflict, NotFound


class CompanyNotFound(NotFound):
    code = "company_not_found"
    message = "No such company in this workspace."


class CompanyExists(Conflict):
    code = "company_exists"
    message = "Another company of this workspace has that domain."
