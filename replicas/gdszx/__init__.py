"""A replica of 广东省政协 (www.gdszx.gov.cn): UTF-8 list and article pages, and routes."""
