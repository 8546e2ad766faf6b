"""W13, wide-table analytics: a generated 16-field fact table (``sales``) with two dimension tables
(``customers``, ``products``), and five analytic pipelines P1–P5 written once per engine: rdarray,
DuckDB (on its own tables), polars (lazy) and pandas.

Every engine's answer is brought to one form by :func:`normalize` (a dict of 1-D columns, text as
``str``, rows in a fixed order) so that answers can be compared with :func:`same`.

The SQL of each pipeline (DuckDB's text below) says what it computes:

- P1, pricing summary: filter on three fields, two computed fields, group by two keys, five aggregates.
- P2, join a filtered dimension: promoted 1995 orders joined with the customers of one segment
  (a filter of the 150k-row dimension, so the side's size is unknown when planned), grouped by nation.
- P3, top 20: revenue and orders per customer over a quarter, the 20 largest by revenue
  (descending), ties by customer id (ascending).
- P4, distinct counts: distinct customers and products per store for urgent orders since 1996.
- P5, date range + multi-key groupby: orders of 1994–1997 of medium quantity joined with the
  products dimension, grouped by (category, year), margin as a computed field.

rdarray adds computed fields with ``t.assign(name=FN, ...)``: the callables below take the table
and return an expression of its fields.
"""

from __future__ import annotations

import numpy as np

#: the fact table: 16 fields, 144 bytes a row (ints, floats, bools, dates, short and long text)
SALES = np.dtype([
    ("order_id", "i8"), ("customer_id", "i8"), ("product_id", "i4"), ("store_id", "i2"),
    ("quantity", "i4"), ("price", "f8"), ("discount", "f8"), ("tax", "f8"), ("unit_cost", "f8"),
    ("is_returned", "?"), ("is_promo", "?"), ("order_date", "M8[D]"), ("ship_date", "M8[D]"),
    ("ship_mode", "S8"), ("priority", "S12"), ("comment", "S40"),
])
CUSTOMERS = np.dtype([("customer_id", "i8"), ("segment", "S10"), ("nation", "S16"), ("balance", "f8")])
PRODUCTS = np.dtype([("product_id", "i4"), ("category", "S12"), ("brand", "S10"), ("list_price", "f8")])

SHIP_MODES = [b"AIR", b"REG AIR", b"RAIL", b"SHIP", b"TRUCK", b"MAIL", b"FOB"]
PRIORITIES = [b"1-URGENT", b"2-HIGH", b"3-MEDIUM", b"4-NOT SPEC", b"5-LOW"]
SEGMENTS = [b"AUTOMOBILE", b"BUILDING", b"FURNITURE", b"HOUSEHOLD", b"MACHINERY"]
NATIONS = [b"ALGERIA", b"ARGENTINA", b"BRAZIL", b"CANADA", b"EGYPT", b"ETHIOPIA", b"FRANCE", b"GERMANY",
           b"INDIA", b"INDONESIA", b"IRAN", b"IRAQ", b"JAPAN", b"JORDAN", b"KENYA", b"MOROCCO",
           b"MOZAMBIQUE", b"PERU", b"CHINA", b"ROMANIA", b"SAUDI ARABIA", b"VIETNAM", b"RUSSIA",
           b"UNITED KINGDOM", b"UNITED STATES"]
CATEGORIES = [b"APPLIANCES", b"BOOKS", b"CLOTHING", b"ELECTRONICS", b"GARDEN", b"GROCERY", b"HEALTH",
              b"SPORTS", b"TOOLS", b"TOYS"]
WORDS = [b"carefully", b"final", b"deposits", b"sleep", b"quickly", b"regular", b"accounts", b"haggle",
         b"blithely", b"ironic", b"packages", b"furiously", b"pending", b"requests", b"express", b"foxes"]

FIRST_DAY = np.datetime64("1992-01-01", "D")
DAYS = 7 * 365  # order dates over 1992-1998


def sizes(nrows: int) -> tuple[int, int]:
    """(customers, products) for a fact table of ``nrows``: 150,000 and 2,000 at 6M rows."""
    return max(50, min(150_000, nrows // 40)), max(20, min(2_000, nrows // 3_000))


def make_tables(nrows: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The three tables as structured ndarrays, from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    ncust, nprod = sizes(nrows)
    s = np.empty(nrows, dtype=SALES)
    s["order_id"] = np.arange(nrows, dtype=np.int64) * 4 + 1
    s["customer_id"] = rng.integers(0, ncust, nrows)
    s["product_id"] = rng.integers(0, nprod, nrows, dtype=np.int32)
    s["store_id"] = rng.integers(0, 100, nrows, dtype=np.int16)
    s["quantity"] = rng.integers(1, 51, nrows, dtype=np.int32)
    s["price"] = np.round(rng.lognormal(6.0, 1.0, nrows), 2)
    s["discount"] = rng.integers(0, 11, nrows) / 100
    s["tax"] = rng.integers(0, 9, nrows) / 100
    s["unit_cost"] = np.round(s["price"] * rng.uniform(0.5, 1.0, nrows), 2)
    s["is_returned"] = rng.random(nrows) < 0.25
    s["is_promo"] = rng.random(nrows) < 0.3
    s["order_date"] = FIRST_DAY + rng.integers(0, DAYS, nrows)
    s["ship_date"] = s["order_date"] + rng.integers(1, 122, nrows)
    s["ship_mode"] = np.array(SHIP_MODES)[rng.integers(0, len(SHIP_MODES), nrows)]
    s["priority"] = np.array(PRIORITIES)[rng.integers(0, len(PRIORITIES), nrows)]
    comments = np.array([b" ".join(rng.choice(WORDS, 5)) for _ in range(1000)], dtype="S40")
    s["comment"] = comments[rng.integers(0, len(comments), nrows)]

    c = np.empty(ncust, dtype=CUSTOMERS)
    c["customer_id"] = rng.permutation(ncust)
    c["segment"] = np.array(SEGMENTS)[rng.integers(0, len(SEGMENTS), ncust)]
    c["nation"] = np.array(NATIONS)[rng.integers(0, len(NATIONS), ncust)]
    c["balance"] = np.round(rng.uniform(-999.99, 9999.99, ncust), 2)

    p = np.empty(nprod, dtype=PRODUCTS)
    p["product_id"] = rng.permutation(nprod).astype(np.int32)
    p["category"] = np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), nprod)]
    p["brand"] = np.array([b"Brand#%d" % i for i in rng.integers(10, 60, nprod)], dtype="S10")
    p["list_price"] = np.round(rng.uniform(1.0, 2000.0, nprod), 2)
    return {"sales": s, "customers": c, "products": p}


#: the fields each pipeline reads, per table: the "read" bytes of peak RSS / read
READS = {
    "P1": {"sales": ["ship_date", "quantity", "discount", "price", "tax", "ship_mode", "is_returned"]},
    "P2": {"sales": ["order_date", "is_promo", "customer_id", "price", "discount", "quantity"],
           "customers": ["customer_id", "segment", "nation"]},
    "P3": {"sales": ["order_date", "ship_mode", "is_returned", "customer_id", "price", "discount"]},
    "P4": {"sales": ["order_date", "priority", "store_id", "customer_id", "product_id", "quantity"]},
    "P5": {"sales": ["order_date", "quantity", "product_id", "price", "discount", "unit_cost"],
           "products": ["product_id", "category"]},
}

#: (key columns, in the order rows are compared; None: the result's own order is the answer's)
KEYS = {"P1": ["ship_mode", "is_returned"], "P2": ["nation"], "P3": None, "P4": ["store_id"],
        "P5": ["category", "year"]}

TITLES = {
    "P1": "P1 pricing summary: filter 3 fields, 2 computed, group by 2 keys",
    "P2": "P2 filter, join a filtered {customers:,}-row dimension, group by nation",
    "P3": "P3 revenue per customer, top 20 (desc revenue, asc id)",
    "P4": "P4 distinct customers and products per store",
    "P5": "P5 date range, join products, computed margin and year, group by 2 keys",
}


def title(tables: dict[str, np.ndarray], pipeline: str) -> str:
    return TITLES[pipeline].format(customers=len(tables["customers"])) + f", {len(tables['sales']):,} rows"


def read_bytes(tables: dict[str, np.ndarray], pipeline: str) -> int:
    """Bytes of the fields ``pipeline`` reads: rows × the fields' item sizes, over its tables."""
    return sum(len(tables[t]) * sum(tables[t].dtype[f].itemsize for f in fields)
               for t, fields in READS[pipeline].items())


# -- rdarray ------------------------------------------------------------------------------------

def REVENUE(t):
    return t["price"] * (1 - t["discount"])


def CHARGE(t):
    return t["price"] * (1 - t["discount"]) * (1 + t["tax"])


def MARGIN(t):
    return t["price"] * (1 - t["discount"]) - t["unit_cost"]


def YEAR(t):
    return t["order_date"].dt.year


def _day(s: str) -> np.datetime64:
    return np.datetime64(s, "D")


def rd_p1(x: dict):
    s = x["sales"]
    t = s[["ship_date", "quantity", "discount", "price", "tax", "ship_mode", "is_returned"]]
    t = t[(t["ship_date"] <= _day("1998-09-02")) & (t["quantity"] >= 5) & (t["discount"] <= 0.08)]
    t = t.assign(revenue=REVENUE, charge=CHARGE)
    return t.groupby(["ship_mode", "is_returned"]).agg(
        qty=("quantity", "sum"), revenue=("revenue", "sum"), charge=("charge", "sum"),
        avg_disc=("discount", "mean"), orders=("quantity", "count")).compute()


def rd_p2(x: dict):
    import rdarray as rd

    s, c = x["sales"], x["customers"]
    t = s[["order_date", "is_promo", "customer_id", "price", "discount", "quantity"]]
    t = t[(t["order_date"] >= _day("1995-01-01")) & (t["order_date"] < _day("1996-01-01")) & t["is_promo"]]
    t = t.assign(revenue=REVENUE)
    d = c[["customer_id", "segment", "nation"]]
    d = d[d["segment"] == b"BUILDING"][["customer_id", "nation"]]
    j = rd.merge(t[["customer_id", "revenue", "quantity", "price"]], d, on="customer_id")
    return j.groupby("nation").agg(revenue=("revenue", "sum"), orders=("revenue", "count"),
                                   avg_qty=("quantity", "mean"), max_price=("price", "max")).compute()


def rd_p3(x: dict):
    s = x["sales"]
    t = s[["order_date", "ship_mode", "is_returned", "customer_id", "price", "discount"]]
    t = t[(t["order_date"] >= _day("1996-10-01")) & (t["order_date"] < _day("1997-01-01"))
          & t["ship_mode"].isin([b"AIR", b"REG AIR"]) & ~t["is_returned"]]
    t = t.assign(revenue=REVENUE)
    g = t.groupby("customer_id").agg(revenue=("revenue", "sum"), orders=("revenue", "count"))
    return g.sort(["revenue", "customer_id"], descending=[True, False]).head(20)


def rd_p4(x: dict):
    s = x["sales"]
    t = s[["order_date", "priority", "store_id", "customer_id", "product_id", "quantity"]]
    t = t[(t["order_date"] >= _day("1996-01-01")) & t["priority"].isin([b"1-URGENT", b"2-HIGH"])
          & (t["quantity"] > 10)]
    return t.groupby("store_id").agg(customers=("customer_id", "nunique"), products=("product_id", "nunique"),
                                     orders=("quantity", "count"), qty=("quantity", "sum")).compute()


def rd_p5(x: dict):
    import rdarray as rd

    s, p = x["sales"], x["products"]
    t = s[["order_date", "quantity", "product_id", "price", "discount", "unit_cost"]]
    t = t[(t["order_date"] >= _day("1994-01-01")) & (t["order_date"] < _day("1998-01-01"))
          & t["quantity"].between(10, 40)]
    t = t.assign(revenue=REVENUE, margin=MARGIN, year=YEAR)
    j = rd.merge(t[["product_id", "year", "revenue", "margin", "discount"]], p[["product_id", "category"]],
                 on="product_id")
    return j.groupby(["category", "year"]).agg(revenue=("revenue", "sum"), margin=("margin", "sum"),
                                               avg_disc=("discount", "mean"), orders=("revenue", "count")).compute()


#: the mask of the narrow case: three fields kept of sixteen, against the same on a 3-field table
NARROW = ["order_date", "quantity", "price"]


def rd_mask_kept(t):
    """``t[mask][NARROW]``: a mask on two fields, three fields kept (W13's narrow case)."""
    kept = t[(t["order_date"] >= _day("1995-01-01")) & (t["quantity"] > 25)][NARROW]
    return kept.compute()


RDARRAY = {"P1": rd_p1, "P2": rd_p2, "P3": rd_p3, "P4": rd_p4, "P5": rd_p5}


def rdarray_tables(tables: dict[str, np.ndarray]) -> dict:
    import rdarray as rd

    return {name: rd.from_numpy(a) for name, a in tables.items()}


# -- pandas ---------------------------------------------------------------------------------------

def _columns(a: np.ndarray) -> dict[str, np.ndarray]:
    """A structured array's fields as columns, text decoded to ``str`` (what a dataframe user holds)."""
    return {f: (a[f].astype("U") if a.dtype[f].kind == "S" else a[f]) for f in a.dtype.names}


def pandas_tables(tables: dict[str, np.ndarray]) -> dict:
    import pandas as pd

    return {name: pd.DataFrame(_columns(a)) for name, a in tables.items()}


def pd_p1(f: dict):
    import pandas as pd

    s = f["sales"]
    t = s.loc[(s.ship_date <= pd.Timestamp("1998-09-02")) & (s.quantity >= 5) & (s.discount <= 0.08),
              ["ship_mode", "is_returned", "quantity", "price", "discount", "tax"]]
    t = t.assign(revenue=REVENUE, charge=CHARGE)
    return t.groupby(["ship_mode", "is_returned"], as_index=False).agg(
        qty=("quantity", "sum"), revenue=("revenue", "sum"), charge=("charge", "sum"),
        avg_disc=("discount", "mean"), orders=("quantity", "count"))


def pd_p2(f: dict):
    import pandas as pd

    s, c = f["sales"], f["customers"]
    t = s.loc[(s.order_date >= pd.Timestamp("1995-01-01")) & (s.order_date < pd.Timestamp("1996-01-01")) & s.is_promo,
              ["customer_id", "price", "discount", "quantity"]]
    t = t.assign(revenue=REVENUE)
    d = c.loc[c.segment == "BUILDING", ["customer_id", "nation"]]
    return t.merge(d, on="customer_id").groupby("nation", as_index=False).agg(
        revenue=("revenue", "sum"), orders=("revenue", "count"), avg_qty=("quantity", "mean"),
        max_price=("price", "max"))


def pd_p3(f: dict):
    import pandas as pd

    s = f["sales"]
    t = s.loc[(s.order_date >= pd.Timestamp("1996-10-01")) & (s.order_date < pd.Timestamp("1997-01-01"))
              & s.ship_mode.isin(["AIR", "REG AIR"]) & ~s.is_returned, ["customer_id", "price", "discount"]]
    t = t.assign(revenue=REVENUE)
    g = t.groupby("customer_id", as_index=False).agg(revenue=("revenue", "sum"), orders=("revenue", "count"))
    return g.sort_values(["revenue", "customer_id"], ascending=[False, True]).head(20)


def pd_p4(f: dict):
    import pandas as pd

    s = f["sales"]
    t = s.loc[(s.order_date >= pd.Timestamp("1996-01-01")) & s.priority.isin(["1-URGENT", "2-HIGH"])
              & (s.quantity > 10), ["store_id", "customer_id", "product_id", "quantity"]]
    return t.groupby("store_id", as_index=False).agg(
        customers=("customer_id", "nunique"), products=("product_id", "nunique"),
        orders=("quantity", "count"), qty=("quantity", "sum"))


def pd_p5(f: dict):
    import pandas as pd

    s, p = f["sales"], f["products"]
    t = s.loc[(s.order_date >= pd.Timestamp("1994-01-01")) & (s.order_date < pd.Timestamp("1998-01-01"))
              & s.quantity.between(10, 40), ["order_date", "product_id", "price", "discount", "unit_cost"]]
    t = t.assign(revenue=REVENUE, margin=MARGIN, year=YEAR)
    j = t.merge(p[["product_id", "category"]], on="product_id")
    return j.groupby(["category", "year"], as_index=False).agg(
        revenue=("revenue", "sum"), margin=("margin", "sum"), avg_disc=("discount", "mean"),
        orders=("revenue", "count"))


PANDAS = {"P1": pd_p1, "P2": pd_p2, "P3": pd_p3, "P4": pd_p4, "P5": pd_p5}


# -- polars (lazy) -------------------------------------------------------------------------------

def polars_tables(tables: dict[str, np.ndarray]) -> dict:
    import polars as pl

    out = {}
    for name, a in tables.items():
        df = pl.DataFrame(_columns(a))
        dates = [f for f in a.dtype.names if a.dtype[f].kind == "M"]
        out[name] = df.with_columns([pl.col(f).cast(pl.Date) for f in dates]) if dates else df
    return out


def _dates(lo: str, hi: str):
    """``lo <= order_date < hi`` as a polars expression."""
    import datetime

    import polars as pl

    day = datetime.date.fromisoformat
    return pl.col("order_date").is_between(day(lo), day(hi), closed="left")


def pl_p1(f: dict):
    import datetime

    import polars as pl

    revenue = pl.col("price") * (1 - pl.col("discount"))
    q = (f["sales"].lazy()
         .filter((pl.col("ship_date") <= datetime.date(1998, 9, 2)) & (pl.col("quantity") >= 5)
                 & (pl.col("discount") <= 0.08))
         .with_columns(revenue=revenue, charge=revenue * (1 + pl.col("tax")))
         .group_by("ship_mode", "is_returned")
         .agg(qty=pl.col("quantity").sum(), revenue=pl.col("revenue").sum(), charge=pl.col("charge").sum(),
              avg_disc=pl.col("discount").mean(), orders=pl.len()))
    return q.collect()


def pl_p2(f: dict):

    import polars as pl

    d = f["customers"].lazy().filter(pl.col("segment") == "BUILDING").select("customer_id", "nation")
    q = (f["sales"].lazy()
         .filter(_dates("1995-01-01", "1996-01-01")
                 & pl.col("is_promo"))
         .with_columns(revenue=pl.col("price") * (1 - pl.col("discount")))
         .join(d, on="customer_id")
         .group_by("nation")
         .agg(revenue=pl.col("revenue").sum(), orders=pl.len(), avg_qty=pl.col("quantity").mean(),
              max_price=pl.col("price").max()))
    return q.collect()


def pl_p3(f: dict):

    import polars as pl

    q = (f["sales"].lazy()
         .filter(_dates("1996-10-01", "1997-01-01")
                 & pl.col("ship_mode").is_in(["AIR", "REG AIR"]) & ~pl.col("is_returned"))
         .with_columns(revenue=pl.col("price") * (1 - pl.col("discount")))
         .group_by("customer_id")
         .agg(revenue=pl.col("revenue").sum(), orders=pl.len())
         .sort(["revenue", "customer_id"], descending=[True, False])
         .head(20))
    return q.collect()


def pl_p4(f: dict):
    import datetime

    import polars as pl

    q = (f["sales"].lazy()
         .filter((pl.col("order_date") >= datetime.date(1996, 1, 1)) & pl.col("priority").is_in(["1-URGENT", "2-HIGH"])
                 & (pl.col("quantity") > 10))
         .group_by("store_id")
         .agg(customers=pl.col("customer_id").n_unique(), products=pl.col("product_id").n_unique(),
              orders=pl.len(), qty=pl.col("quantity").sum()))
    return q.collect()


def pl_p5(f: dict):

    import polars as pl

    revenue = pl.col("price") * (1 - pl.col("discount"))
    q = (f["sales"].lazy()
         .filter(_dates("1994-01-01", "1998-01-01")
                 & pl.col("quantity").is_between(10, 40))
         .with_columns(revenue=revenue, margin=revenue - pl.col("unit_cost"), year=pl.col("order_date").dt.year())
         .join(f["products"].lazy().select("product_id", "category"), on="product_id")
         .group_by("category", "year")
         .agg(revenue=pl.col("revenue").sum(), margin=pl.col("margin").sum(), avg_disc=pl.col("discount").mean(),
              orders=pl.len()))
    return q.collect()


POLARS = {"P1": pl_p1, "P2": pl_p2, "P3": pl_p3, "P4": pl_p4, "P5": pl_p5}


# -- DuckDB (its own tables) ---------------------------------------------------------------------

SQL = {
    "P1": """SELECT ship_mode, is_returned, sum(quantity) AS qty, sum(price * (1 - discount)) AS revenue,
                    sum(price * (1 - discount) * (1 + tax)) AS charge, avg(discount) AS avg_disc, count(*) AS orders
             FROM sales WHERE ship_date <= DATE '1998-09-02' AND quantity >= 5 AND discount <= 0.08
             GROUP BY ship_mode, is_returned""",
    "P2": """SELECT nation, sum(price * (1 - discount)) AS revenue, count(*) AS orders, avg(quantity) AS avg_qty,
                    max(price) AS max_price
             FROM sales
             JOIN (SELECT customer_id, nation FROM customers WHERE segment = 'BUILDING') c USING (customer_id)
             WHERE order_date >= DATE '1995-01-01' AND order_date < DATE '1996-01-01' AND is_promo
             GROUP BY nation""",
    "P3": """SELECT customer_id, sum(price * (1 - discount)) AS revenue, count(*) AS orders
             FROM sales WHERE order_date >= DATE '1996-10-01' AND order_date < DATE '1997-01-01'
                  AND ship_mode IN ('AIR', 'REG AIR') AND NOT is_returned
             GROUP BY customer_id ORDER BY revenue DESC, customer_id ASC LIMIT 20""",
    "P4": """SELECT store_id, count(DISTINCT customer_id) AS customers, count(DISTINCT product_id) AS products,
                    count(*) AS orders, sum(quantity) AS qty
             FROM sales WHERE order_date >= DATE '1996-01-01' AND priority IN ('1-URGENT', '2-HIGH') AND quantity > 10
             GROUP BY store_id""",
    "P5": """SELECT category, year(order_date) AS year, sum(price * (1 - discount)) AS revenue,
                    sum(price * (1 - discount) - unit_cost) AS margin, avg(discount) AS avg_disc, count(*) AS orders
             FROM sales JOIN products USING (product_id)
             WHERE order_date >= DATE '1994-01-01' AND order_date < DATE '1998-01-01' AND quantity BETWEEN 10 AND 40
             GROUP BY category, year""",
}


def duckdb_connection(tables: dict[str, np.ndarray], threads: int):
    """A DuckDB connection holding the tables in its own storage (``CREATE TABLE ... AS``),
    loaded from a pandas frame that is unregistered afterwards."""
    import duckdb
    import pandas as pd

    con = duckdb.connect()
    con.execute(f"SET threads TO {int(threads)}")
    for name, a in tables.items():
        con.register("staging", pd.DataFrame(_columns(a)))
        dates = [f for f in a.dtype.names if a.dtype[f].kind == "M"]
        cols = ", ".join(f"CAST({f} AS DATE) AS {f}" if f in dates else f for f in a.dtype.names)
        con.execute(f"CREATE TABLE {name} AS SELECT {cols} FROM staging")
        con.unregister("staging")
    return con


def duckdb_query(con, pipeline: str) -> dict:
    return con.sql(SQL[pipeline]).fetchnumpy()


# -- comparing answers ----------------------------------------------------------------------------

def _column(v) -> np.ndarray:
    v = np.ma.filled(v) if isinstance(v, np.ma.MaskedArray) else np.asarray(v)
    if v.dtype.kind in "SOU" or str(v.dtype) in ("str", "string"):
        v = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in v.tolist()], dtype="U")
    elif v.dtype.kind in "iu":
        v = v.astype(np.int64)
    return v


def normalize(result, pipeline: str) -> dict[str, np.ndarray]:
    """Any engine's answer as {field: 1-D column}, text as ``str``, integers as int64, rows sorted
    by the pipeline's keys (or in the answer's own order when it has none: P3's top 20)."""
    if isinstance(result, np.ndarray):
        cols = {f: result[f] for f in result.dtype.names}
    elif isinstance(result, dict):
        cols = dict(result)
    elif hasattr(result, "get_columns"):  # polars
        cols = {s.name: s.to_numpy() for s in result.get_columns()}
    else:  # pandas
        cols = {c: result[c].to_numpy() for c in result.columns}
    cols = {k: _column(v) for k, v in cols.items()}
    keys = KEYS[pipeline]
    if keys:
        order = np.lexsort([cols[k] for k in reversed(keys)])
        cols = {k: v[order] for k, v in cols.items()}
    return cols


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Same fields, same rows; floats to 1e-9 relative (summation orders differ between engines)."""
    if sorted(a) != sorted(b):
        return False
    for k in a:
        u, v = a[k], b[k]
        if u.shape != v.shape:
            return False
        if u.dtype.kind == "f" or v.dtype.kind == "f":
            if not np.allclose(u.astype(np.float64), v.astype(np.float64), rtol=1e-9, atol=1e-9):
                return False
        elif not np.array_equal(u, v):
            return False
    return True
