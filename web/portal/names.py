"""What the white list's codes are called on the portal's pages, in the reader's language."""
from web.i18n import _l
from whitelist.models import Category, EntryStatus, IdType, PersonKind, VehicleKind

KIND_NAMES = {PersonKind.DRIVER: _l("司机"), PersonKind.COURIER: _l("快递员"),
              PersonKind.CROSS_BORDER_DRIVER: _l("跨境司机")}
ID_TYPE_NAMES = {IdType.CN_RESIDENT_ID: _l("居民身份证"), IdType.HK_ID: _l("香港身份证"),
                 IdType.HK_MACAO_TRAVEL_PERMIT: _l("港澳居民来往内地通行证"), IdType.PASSPORT: _l("护照")}
ENTRY_STATUS_NAMES = {EntryStatus.ACTIVE: _l("有效"), EntryStatus.SUSPENDED: _l("已暂停")}
VEHICLE_KIND_NAMES = {VehicleKind.VAN: _l("厢式货车"), VehicleKind.TRUCK: _l("货车"), VehicleKind.TRACTOR: _l("牵引车"),
                      VehicleKind.TRAILER: _l("挂车"), VehicleKind.CAR: _l("小汽车"), VehicleKind.MOTORCYCLE: _l("摩托车")}
CATEGORY_NAMES = {
    Category.GRAIN_OIL: _l("粮油"), Category.VEGETABLES: _l("蔬菜"), Category.MEAT: _l("肉类"),
    Category.MEDICINE: _l("药品"), Category.EXPRESS_DELIVERY: _l("快递"), Category.FOOD_DELIVERY: _l("外卖"),
    Category.UTILITIES: _l("水电燃气"), Category.CROSS_BORDER_FREIGHT: _l("跨境货运"), Category.OTHER: _l("其他"),
}
