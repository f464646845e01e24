"""The admin API (`/admin/v1`): workspaces, keys, limits and usage, for the admin key and
for the `openscope keys|workspaces|usage` commands."""

from openscope.server.admin.routes import ADMIN_PREFIX, admin_router, admin_schema
from openscope.server.admin.service import AdminService

__all__ = ["ADMIN_PREFIX", "AdminService", "admin_router", "admin_schema"]
